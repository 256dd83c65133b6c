/* A policy loaded into the datapath as `rampart apply` loads it, attached
 * to nothing, for the BPF_PROG_TEST_RUN tests (test_datapath.c,
 * test_commands.c).  Include after cmocka.h. */
#ifndef KT_DATAPATH_H
#define KT_DATAPATH_H

#include <stdint.h>
#include <string.h>
#include "policy.h"
#include "classify.h"
#include "datapath.h"
#include "rampart.skel.h"

/* text compiled into a new datapath (*skel: datapath_destroy it) of
 * generation gen (switched in unless 0) with conntrack capacity ct_size;
 * rule metadata, policy info (test.rules) and configuration written.  *pol holds the policy: policy_free it, also when
 * this fails the test. */
static inline void kt_load_datapath_gen(const char *text, uint32_t ct_size, uint32_t gen, struct policy *pol,
					struct rampart_bpf **skel)
{
	struct diag d;
	struct load_opts lo = { 0 };
	struct flat_policy fp = { 0 };
	struct cls_tables t;
	char err[512];

	diag_init(&d, stderr, NULL);
	assert_int_equal(policy_load_string(pol, "test.rules", text, &lo, &d), 0);
	assert_int_equal(flatten_policy(pol, &fp, &d), 0);
	memset(&t, 0, sizeof(t));
	if (cls_compile(&fp, (uint32_t)pol->nrules, &t, err, sizeof(err)) != 0)
		fail_msg("cls_compile: %s", err);
	struct datapath_opts o = { .conntrack_size = ct_size, .nslots = policy_nslots(pol), .generation = gen };
	if (datapath_create(skel, &o, &t))
		fail_msg("cannot load the datapath (see above)");
	assert_int_equal(datapath_write_rules(*skel, pol), 0);
	uint8_t sha[32] = { 1, 2, 3 };
	assert_int_equal(datapath_write_policy_info(*skel, pol, "test.rules", sha), 0);
	struct rp_config cfg;
	datapath_config_from_policy(&cfg, pol);
	assert_int_equal(datapath_write_config(*skel, &cfg), 0);
	if (gen) /* the gate (bpf/config.h) runs a program whose generation is in force */
		assert_int_equal(datapath_switch_generation(*skel), 0);
	cls_tables_free(&t);
	flat_policy_free(&fp);
	diag_free(&d);
}

/* The same as generation 0 (none switched in: the programs judge). */
static inline void kt_load_datapath(const char *text, uint32_t ct_size, struct policy *pol, struct rampart_bpf **skel)
{
	kt_load_datapath_gen(text, ct_size, 0, pol, skel);
}

/* The datapath's configuration as edit() changes it. */
static inline void kt_edit_config(struct rampart_bpf *skel, void (*edit)(struct rp_config *))
{
	struct rp_config cfg;
	assert_int_equal(datapath_read_config(skel, &cfg), 0);
	edit(&cfg);
	assert_int_equal(datapath_write_config(skel, &cfg), 0);
}

#endif
