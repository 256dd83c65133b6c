/* The private network namespace of the BPF_PROG_TEST_RUN tests.  lo is up
 * and holds the tests' local addresses (192.0.2.1, 2001:db8::1);
 * forwarding is on and the default route leads out of a veth pair, so the
 * datapath's FIB lookups tell a packet addressed to this host (accept,
 * receive, gateway `in`) from one routed through it, as on a gateway.
 * Test runs arrive on lo (ifindex 1).  The process stays on one CPU: the
 * datapath keeps per-CPU state (rate-limit buckets, the flow cache) that
 * a test reads back. */
#ifndef KT_NETNS_H
#define KT_NETNS_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#define KT_LOCAL4  "192.0.2.1"
#define KT_LOCAL6  "2001:db8::1"
#define KT_ROUTED6 "2001:db8:5::/64" /* behind a gateway (everything else is on kt0's link) */

static int kt_private_netns(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0) {
		perror("sched_setaffinity");
		return -1;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	const char *setup = "ip link set lo up && ip addr add " KT_LOCAL4 "/32 dev lo && "
			    "ip -6 addr add " KT_LOCAL6 "/128 dev lo nodad && "
			    "ip link add kt0 type veth peer name kt1 && ip link set kt0 up && ip link set kt1 up && "
			    "ip route add default dev kt0 && ip -6 route add default dev kt0 && "
			    "ip -6 route add " KT_ROUTED6 " via fe80::99 dev kt0 && "
			    "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1";
	if (system(setup) != 0) {
		fprintf(stderr, "cannot set up the test's network namespace\n");
		return -1;
	}
	return 0;
}

#endif
