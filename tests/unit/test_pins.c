/* The pin dir's layout (loader/pins.c): link pin names and their parsing,
 * the paths an instance hands out, the interfaces found among the link
 * pins, the staging exchange and the check before unload.  On an ordinary
 * directory: nothing here needs bpffs. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "pins.h"
#include "testutil.h"

static void test_link_names_round_trip(void **state)
{
	char name[64], hook[8], ifname[IF_NAMESIZE];
	pins_link_name(name, sizeof(name), PINS_HOOK_XDP, "eth0");
	assert_string_equal(name, "xdp-eth0");
	/* bpffs refuses dots: eth0.100 is pinned as eth0:100 */
	pins_link_name(name, sizeof(name), PINS_HOOK_TCF, "eth0.100");
	assert_string_equal(name, "tcf-eth0:100");
	assert_true(pins_parse_link_name(name, hook, sizeof(hook), ifname, sizeof(ifname)));
	assert_string_equal(hook, "tcf");
	assert_string_equal(ifname, "eth0.100");
	/* interface names may hold dashes: only the first one splits */
	assert_true(pins_parse_link_name("tc-veth-a", hook, sizeof(hook), ifname, sizeof(ifname)));
	assert_string_equal(hook, "tc");
	assert_string_equal(ifname, "veth-a");
}

static void test_other_pins_are_not_links(void **state)
{
	char hook[8], ifname[IF_NAMESIZE];
	const char *others[] = { "cg-connect4", "new-cg-bind4", "sk_lookup", "xdp-", "-eth0", "xdp", "tcx-eth0" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (pins_parse_link_name(others[i], hook, sizeof(hook), ifname, sizeof(ifname)))
			fail_msg("%s taken for an interface link", others[i]);
}

static void test_paths(void **state)
{
	struct pin_dir pd;
	char p[PINS_PATH_MAX];
	assert_int_equal(pins_init(&pd, "/sys/fs/bpf/rp"), 0);
	assert_string_equal(pins_map(&pd, "map_a", false, p), "/sys/fs/bpf/rp/maps/map_a");
	assert_string_equal(pins_map(&pd, "map_a", true, p), "/sys/fs/bpf/rp/maps-new/map_a");
	assert_string_equal(pins_prog(&pd, "xdp", true, p), "/sys/fs/bpf/rp/progs-new/xdp");
	assert_string_equal(pins_sock_prog(&pd, "connect4", false, p), "/sys/fs/bpf/rp/progs/sock-connect4");
	assert_string_equal(pins_iface_link(&pd, PINS_HOOK_TC, "eth0.7", p), "/sys/fs/bpf/rp/links/tc-eth0:7");
	assert_string_equal(pins_cgroup_link(&pd, "bind6", false, p), "/sys/fs/bpf/rp/links/cg-bind6");
	assert_string_equal(pins_cgroup_link(&pd, "bind6", true, p), "/sys/fs/bpf/rp/links/new-cg-bind6");
	assert_string_equal(pins_netns_link(&pd, p), "/sys/fs/bpf/rp/links/sk_lookup");
}

static void test_a_path_too_long(void **state)
{
	struct pin_dir pd;
	char dir[PINS_PATH_MAX];
	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = 0;
	assert_int_equal(pins_init(&pd, dir), -ENAMETOOLONG);
}

static void touch(const char *dir, const char *name)
{
	free(write_temp_file(dir, name, ""));
}

static void test_attached_interfaces(void **state)
{
	char *dir = make_temp_dir(), links[PINS_PATH_MAX + 8];
	struct pin_dir pd;
	char names[8][IF_NAMESIZE];
	assert_int_equal(pins_init(&pd, dir), 0);
	assert_int_equal(pins_attached_ifaces(&pd, names, 8), 0); /* nothing pinned yet */
	snprintf(links, sizeof(links), "%s/links", dir);
	assert_int_equal(mkdir(links, 0700), 0);
	const char *pins[] = { "xdp-eth0", "tc-eth0", "xdp-eth1.5", "tcf-eth1.5", "cg-connect4", "sk_lookup" };
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s", pins[i]);
		for (char *c = strchr(name, '-'); c && *c; c++)
			*c = *c == '.' ? ':' : *c;
		touch(links, name);
	}
	int n = pins_attached_ifaces(&pd, names, 8);
	assert_int_equal(n, 2);
	bool eth0 = false, eth1 = false;
	for (int i = 0; i < n; i++) {
		eth0 |= !strcmp(names[i], "eth0");
		eth1 |= !strcmp(names[i], "eth1.5");
	}
	assert_true(eth0 && eth1);
	remove_tree(dir);
	free(dir);
}

/* A new set is staged beside the current one and exchanged with it. */
static void test_stage_commit_and_abort(void **state)
{
	char *dir = make_temp_dir(), sub[PINS_PATH_MAX + 16];
	struct pin_dir pd;
	char p[PINS_PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/x", dir);
	assert_int_equal(pins_init(&pd, sub), 0);
	assert_int_equal(pins_stage_begin(&pd), 0);
	assert_true(pd.created);
	pins_map(&pd, "", true, p);
	touch(p, "map_a"); /* stands for a pinned map */
	assert_int_equal(pins_stage_commit(&pd), 0);
	assert_int_equal(access(pins_map(&pd, "map_a", false, p), F_OK), 0);
	assert_int_equal(access(pins_map(&pd, "", true, p), F_OK), -1);
	/* a second set replaces the first; an aborted one leaves it alone */
	assert_int_equal(pins_stage_begin(&pd), 0);
	pins_map(&pd, "", true, p);
	touch(p, "map_b");
	pins_stage_abort(&pd);
	assert_int_equal(access(pins_map(&pd, "map_a", false, p), F_OK), 0);
	assert_int_equal(access(pins_map(&pd, "map_b", false, p), F_OK), -1);
	remove_tree(dir);
	free(dir);
}

/* unload removes a pin dir only when everything in it is rampart's. */
static void test_only_ours(void **state)
{
	char *dir = make_temp_dir(), sub[PINS_PATH_MAX + 16];
	struct pin_dir pd;
	int n;
	assert_int_equal(pins_init(&pd, dir), 0);
	const char *ours[] = { "maps", "links", "progs", "maps-new" };
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, ours[i]);
		assert_int_equal(mkdir(sub, 0700), 0);
	}
	assert_true(pins_only_ours(&pd, &n));
	assert_int_equal(n, 4);
	touch(dir, "someone-elses-map");
	assert_false(pins_only_ours(&pd, &n));
	assert_int_equal(n, 5);
	remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_names_round_trip),
		cmocka_unit_test(test_other_pins_are_not_links),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_a_path_too_long),
		cmocka_unit_test(test_attached_interfaces),
		cmocka_unit_test(test_stage_commit_and_abort),
		cmocka_unit_test(test_only_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
