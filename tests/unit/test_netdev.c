/* Which program each kind of device gets (loader/netdev.c: netdev_role,
 * netdev_entries) and which interfaces a selection covers
 * (loader/ifplan.c: the selection's pure parts).  On made-up device
 * lists: nothing here needs a network namespace. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <net/if_arp.h>
#include "ifplan.h"
#include "netdev.h"
#include "policy.h"
#include "judge.h"
#include "testutil.h"

static struct netdev dev(const char *name, uint32_t ifindex, uint16_t type, const char *kind)
{
	struct netdev d;
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.ifindex = ifindex;
	d.type = type;
	snprintf(d.kind, sizeof(d.kind), "%s", kind);
	return d;
}

static void test_roles_by_device_kind(void **state)
{
	struct netdev devs[] = {
		dev("eth0", 2, ARPHRD_ETHER, ""),      dev("veth0", 3, ARPHRD_ETHER, "veth"),
		dev("tun0", 4, ARPHRD_NONE, "tun"),    dev("ppp0", 5, ARPHRD_PPP, ""),
		dev("ib0", 6, ARPHRD_INFINIBAND, ""),  dev("br0", 7, ARPHRD_ETHER, "bridge"),
		dev("vport", 8, ARPHRD_ETHER, "veth"), dev("lo", 1, ARPHRD_LOOPBACK, ""),
	};
	int n = sizeof(devs) / sizeof(devs[0]);
	devs[6].master = 7;
	snprintf(devs[6].slave_kind, sizeof(devs[6].slave_kind), "bridge");
	bool protect[8] = { true, true, true, true, true, true, true, true };
	struct netdev_role r;

	/* a hardware NIC: XDP; a veth: tc (keeps GRO/GSO) */
	netdev_role(&devs[0], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_int_equal(r.ingress, NETDEV_IN_XDP);
	assert_false(r.l3);
	netdev_role(&devs[1], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_int_equal(r.ingress, NETDEV_IN_TC);
	/* no link layer: the l3 programs, tc */
	netdev_role(&devs[2], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_true(r.l3);
	assert_int_equal(r.ingress, NETDEV_IN_TC);
	netdev_role(&devs[3], devs, n, protect, INGRESS_HOOK_XDP, &r);
	assert_true(r.l3);
	assert_int_equal(r.ingress, NETDEV_IN_TC); /* never XDP without Ethernet */
	/* a link type rampart cannot read: refused, with the reason */
	netdev_role(&devs[4], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_true(r.refused[0] != 0);
	assert_non_null(strstr(r.refused, "infiniband"));
	/* a port of a protected bridge: no ingress program */
	netdev_role(&devs[6], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_true(r.bridge_port);
	assert_int_equal(r.ingress, NETDEV_IN_NONE);
	/* ... of a bridge not protected: an ordinary veth */
	protect[5] = false;
	netdev_role(&devs[6], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_int_equal(r.ingress, NETDEV_IN_TC);
	/* option ingress-hook */
	netdev_role(&devs[1], devs, n, protect, INGRESS_HOOK_XDP, &r);
	assert_int_equal(r.ingress, NETDEV_IN_XDP);
	netdev_role(&devs[0], devs, n, protect, INGRESS_HOOK_TC, &r);
	assert_int_equal(r.ingress, NETDEV_IN_TC);
	/* loopback: tc, Ethernet-framed */
	netdev_role(&devs[7], devs, n, protect, INGRESS_HOOK_AUTO, &r);
	assert_int_equal(r.ingress, NETDEV_IN_TC);
	assert_false(r.l3);
}

static uint32_t ids_by_name(const char *name, void *arg)
{
	const char *const *names = arg;
	for (uint32_t i = 0; names[i]; i++)
		if (!strcmp(names[i], name))
			return i + 1;
	return 0;
}

static void test_entries_for_ports_and_vlans(void **state)
{
	struct netdev devs[] = {
		dev("br0", 2, ARPHRD_ETHER, "bridge"),	dev("vp1", 3, ARPHRD_ETHER, "veth"),
		dev("vp2", 4, ARPHRD_ETHER, "veth"),	dev("eth0", 5, ARPHRD_ETHER, ""),
		dev("eth0.7", 6, ARPHRD_ETHER, "vlan"),
	};
	int n = 5;
	for (int i = 1; i <= 2; i++) {
		devs[i].master = 2;
		snprintf(devs[i].slave_kind, sizeof(devs[i].slave_kind), "bridge");
	}
	devs[4].link = 5;
	devs[4].vlan_id = 7;
	bool protect[5] = { true, true, true, true, true };
	struct netdev_role roles[5];
	for (int i = 0; i < n; i++)
		netdev_role(&devs[i], devs, n, protect, INGRESS_HOOK_AUTO, &roles[i]);
	const char *names[] = { "br0", "vp2", "eth0.7", NULL };
	struct netdev_entry ent[16];
	int k = netdev_entries(devs, n, protect, roles, ids_by_name, names, ent, 16);
	assert_int_equal(k, 6); /* five devices, one VLAN of eth0 */
	/* vp1, not named: belongs to its bridge; vp2, named: itself */
	assert_int_equal(ent[1].ifindex, 3);
	assert_int_equal(ent[1].logical_ifindex, 2);
	assert_int_equal(ent[1].id, 1);
	assert_false(ent[1].judges);
	assert_int_equal(ent[2].logical_ifindex, 4);
	assert_int_equal(ent[2].id, 2);
	assert_true(ent[0].judges);
	/* eth0 tagged 7 is eth0.7, judged by eth0.7's own programs */
	assert_int_equal(ent[4].ifindex, 5);
	assert_int_equal(ent[4].vid, 7);
	assert_int_equal(ent[4].logical_ifindex, 6);
	assert_int_equal(ent[4].id, 3);
	assert_true(ent[4].elsewhere);
	/* eth0.7 not protected itself: eth0 judges its frames as eth0.7 */
	protect[4] = false;
	k = netdev_entries(devs, n, protect, roles, ids_by_name, names, ent, 16);
	assert_int_equal(k, 5);
	assert_int_equal(ent[4].vid, 7);
	assert_false(ent[4].elsewhere);
}

static void test_selection(void **state)
{
	struct rp_ifsel sel;
	memset(&sel, 0, sizeof(sel));
	sel.all = 1;
	assert_true(ifsel_covers(&sel, "veth9"));
	assert_false(ifsel_covers(&sel, "lo")); /* the host talking to itself */
	sel.all = 0;
	assert_int_equal(ifsel_add_pattern(&sel, "veth*"), 0);
	assert_int_equal(ifsel_add_pattern(&sel, "eth0"), 0);
	assert_int_equal(ifsel_add_pattern(&sel, "eth0"), 0); /* once */
	assert_int_equal(sel.npatterns, 2);
	assert_true(ifsel_covers(&sel, "veth9"));
	assert_true(ifsel_covers(&sel, "eth0"));
	assert_false(ifsel_covers(&sel, "eth1"));
	assert_int_equal(ifsel_add_pattern(&sel, "a-name-far-too-long"), -ENAMETOOLONG);
	assert_true(ifsel_is_pattern("br-*") && ifsel_is_pattern("eth[01]") && !ifsel_is_pattern("eth0"));
}

/* A device that appears later gets the id the loaded policy gives it:
 * the selection's pinned names number it as policy_iface_id() does. */
static void test_selection_numbers_like_the_policy(void **state)
{
	struct policy *p = load_policy_text_ok("interface lan = br-*\n"
					       "table root default deny {\n"
					       "    allow in on lan\n"
					       "    allow in on eth0\n"
					       "    allow in on veth*\n"
					       "    allow in on br-lan\n"
					       "}\n");
	struct rp_ifsel sel;
	memset(&sel, 0, sizeof(sel));
	assert_int_equal(ifsel_set_policy(&sel, p, "eth0"), 0);
	assert_string_equal(sel.wan, "eth0");
	const char *names[] = { "eth0", "br-lan", "br-9", "veth3", "vethbr-", "wlan0" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(ifsel_iface_id(&sel, names[i]), policy_iface_id(p, names[i]));
	assert_int_not_equal(policy_iface_id(p, "br-9"), 0);
	assert_int_equal(policy_iface_id(p, "wlan0"), 0);
	free_policy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_by_device_kind),
		cmocka_unit_test(test_entries_for_ports_and_vlans),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_selection_numbers_like_the_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
