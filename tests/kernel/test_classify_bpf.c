/* The BPF classifier (bpf/classify.h, run through bpf/classify_test.bpf.c
 * with BPF_PROG_TEST_RUN) gives, for every event, what the user-space
 * simulator cls_lookup() gives and what the flattened policy's reference
 * walk flat_eval() gives.  Needs root (loads BPF); attaches nothing. */
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "judge.h"
#include "classify.h"
#include "classifier_maps.h"
#include "classify_test.skel.h"
#include "random_policy.h"

struct loaded {
	struct classify_test_bpf *skel;
	int prog_fd;
};

static void load_tables(struct loaded *l, const struct cls_tables *t)
{
	l->skel = classify_test_bpf__open();
	assert_non_null(l->skel);
	struct cls_maps m = { l->skel->maps.cls_config, l->skel->maps.cls_tab, l->skel->maps.cls_actions };
	if (cls_maps_size(&m, t))
		fail_msg("cannot size the classifier maps (see above)");
	int rc = classify_test_bpf__load(l->skel);
	if (rc)
		fail_msg("loading classify_test.bpf.o failed (%d): is this root, with BPF support?", rc);
	if (cls_maps_write(&m, t))
		fail_msg("cannot write the classifier maps (see above)");
	l->prog_fd = bpf_program__fd(l->skel->progs.classify_test);
}

/* Runs the BPF classifier once on f. */
static void bpf_classify(struct loaded *l, const struct cls_fields *f, struct cls_result *out)
{
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt));
	l->skel->bss->cls_in = *f;
	memset(&l->skel->bss->cls_out, 0xaa, sizeof(l->skel->bss->cls_out));
	assert_int_equal(bpf_prog_test_run_opts(l->prog_fd, &o), 0);
	assert_int_equal(o.retval, 2 /* XDP_PASS */);
	assert_int_equal(l->skel->bss->cls_ret, 0);
	*out = l->skel->bss->cls_out;
}

/* Kernel memory of the classifier maps (memlock in fdinfo), informational. */
static unsigned long long maps_memlock(const struct loaded *l)
{
	struct bpf_map *maps[] = { l->skel->maps.cls_config, l->skel->maps.cls_tab, l->skel->maps.cls_actions };
	unsigned long long total = 0;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", bpf_map__fd(maps[i]));
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v;
			if (sscanf(line, "memlock: %llu", &v) == 1)
				total += v;
		}
		fclose(f);
	}
	return total;
}

/* Average ns of one classification (informational, printed: no timing
 * assertion in tests). */
static unsigned bpf_classify_ns(struct loaded *l, const struct cls_fields *f)
{
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 100000);
	l->skel->bss->cls_in = *f;
	assert_int_equal(bpf_prog_test_run_opts(l->prog_fd, &o), 0);
	return o.duration;
}

static void assert_same_cls(const struct cls_result *k, const struct cls_result *u)
{
	assert_int_equal(k->verdict, u->verdict);
	assert_int_equal(k->slot, u->slot);
	assert_int_equal(k->entry, u->entry);
	assert_int_equal(k->log, u->log);
	assert_int_equal(k->nrecords, u->nrecords);
	assert_int_equal(k->overflow, u->overflow);
	for (int i = 0; i < k->nrecords; i++) {
		assert_int_equal(k->records[i].slot, u->records[i].slot);
		assert_int_equal(k->records[i].verdict, u->records[i].verdict);
		assert_int_equal(k->records[i].log, u->records[i].log);
	}
}

static void assert_matches_reference(const struct cls_result *k, const struct eval_result *r, uint32_t slot)
{
	assert_int_equal(k->verdict, r->verdict);
	assert_int_equal(k->slot, slot);
	assert_int_equal(k->log, r->log);
	int n = r->nrecorded > CLS_MAX_RECORDS ? CLS_MAX_RECORDS : r->nrecorded;
	assert_int_equal(k->nrecords, n);
	assert_int_equal(k->overflow, r->nrecorded > CLS_MAX_RECORDS);
	for (int i = 0; i < n; i++)
		assert_int_equal(k->records[i].slot, (uint32_t)r->recorded[i]);
}

/* Judges ev with the BPF classifier, the user-space one (cls_lookup) and
 * the flattened policy (flat_eval, its result in *r: eval_result_free it)
 * and checks they agree.  A table default's slot is nrules + its table. */
static void assert_judges_agree(struct loaded *l, const struct cls_tables *t, const struct flat_policy *fp,
				uint32_t nrules, const struct event *ev, struct eval_result *r)
{
	struct cls_fields f;
	struct cls_result kr, ur;
	cls_event_fields(ev, &f);
	bpf_classify(l, &f, &kr);
	assert_int_equal(cls_lookup(t, &f, &ur), 0);
	assert_same_cls(&kr, &ur);
	flat_eval(fp, ev, r);
	assert_matches_reference(&kr, r, r->rule >= 0 ? (uint32_t)r->rule : nrules + (uint32_t)r->table);
}

/* ---------- not ready: deny ---------- */

static void test_empty_maps_deny(void **state)
{
	struct classify_test_bpf *skel = classify_test_bpf__open_and_load();
	if (!skel)
		fail_msg("loading classify_test.bpf.o failed: is this root, with BPF support?");
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt));
	memset(&skel->bss->cls_in, 0, sizeof(skel->bss->cls_in));
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.classify_test), &o), 0);
	assert_int_equal(skel->bss->cls_ret, -1);
	assert_int_equal(skel->bss->cls_out.verdict, VERDICT_DENY);
	assert_int_equal(skel->bss->cls_out.slot, CLS_SLOT_NONE);
	assert_int_equal(skel->bss->cls_out.nrecords, 0);
	classify_test_bpf__destroy(skel);
}

/* ---------- random text policies ---------- */

static void test_random_policies_kernel_equals_reference(void **state)
{
	struct random_policy_size size = { .tables = 4, .rules = 9, .fields = 4 };
	srand(31337);
	long events = 0, by_rule = 0, recorded = 0, keyed = 0;
	for (int iter = 0; iter < 60; iter++) {
		char *text = random_policy_text(&size);
		struct policy *p = load_policy_text_ok(text);
		struct flat_policy fp;
		struct diag d;
		diag_init(&d, stderr, NULL);
		assert_int_equal(flatten_policy(p, &fp, &d), 0);
		diag_free(&d);
		struct cls_tables t;
		char err[512];
		/* every structure of the tables: as apply builds them, sparse
		 * combinations only, keyed parts (candidate lists) */
		struct cls_opts o = { .no_dense = iter % 3 == 1, .force_parts = iter % 3 == 2 };
		if (cls_compile_opts(&fp, (uint32_t)p->nrules, &o, &t, err, sizeof(err)))
			fail_msg("%s", err);
		keyed += t.config.nparts > 1;
		struct loaded l;
		load_tables(&l, &t);
		for (int k = 0; k < 200; k++) {
			struct event ev;
			random_policy_event(p, &ev);
			struct eval_result r;
			assert_judges_agree(&l, &t, &fp, (uint32_t)p->nrules, &ev, &r);
			events++;
			by_rule += r.rule >= 0;
			recorded += r.nrecorded > 0;
			eval_result_free(&r);
		}
		classify_test_bpf__destroy(l.skel);
		cls_tables_free(&t);
		flat_policy_free(&fp);
		free_policy(p);
		free(text);
	}
	assert_int_equal(events, 60 * 200);
	assert_true(keyed >= 10);
	assert_true(by_rule > events / 10);
	assert_true(recorded > events / 50);
}

/* ---------- 100 000 entries in the kernel ---------- */

static u128 big_addr(unsigned i)
{
	return addr_from_v4((198u << 24) | (51u << 16) | (i & 0xffff));
}

static void add_cond(struct flat_entry *e, int f, u128 lo, u128 hi)
{
	e->cond[f].used = true;
	vset_add(&e->cond[f].set, lo, hi);
}

/* `deny in proto tcp remote 198.51.x.y port N` x 100 000 (distinct address
 * and port pairs), then `allow in local port 80`, then the default deny. */
static void test_hundred_thousand_entries(void **state)
{
	const int n = 100000;
	struct flat_policy fp = { .n = n + 2, .e = calloc(n + 2, sizeof(struct flat_entry)) };
	for (int i = 0; i < n; i++) {
		struct flat_entry *e = &fp.e[i];
		e->kind = FLAT_TERMINAL;
		e->verdict = VERDICT_DENY;
		e->rule = i;
		add_cond(e, F_DIR, DIR_IN, DIR_IN);
		add_cond(e, F_PROTO, 6, 6);
		add_cond(e, F_RADDR, big_addr(i), big_addr(i));
		add_cond(e, F_RPORT, 10000 + i % 40000, 10000 + i % 40000);
	}
	fp.e[n].kind = FLAT_TERMINAL;
	fp.e[n].verdict = VERDICT_ALLOW;
	fp.e[n].rule = n;
	add_cond(&fp.e[n], F_DIR, DIR_IN, DIR_IN);
	add_cond(&fp.e[n], F_LPORT, 80, 80);
	fp.e[n + 1].kind = FLAT_TERMINAL;
	fp.e[n + 1].verdict = VERDICT_DENY;
	fp.e[n + 1].rule = -1;

	struct cls_tables t;
	char err[512];
	if (cls_compile(&fp, (uint32_t)n + 1, &t, err, sizeof(err)))
		fail_msg("%s", err);
	struct loaded l;
	load_tables(&l, &t);
	srand(5);
	for (int k = 0; k < 2000; k++) {
		struct event ev;
		memset(&ev, 0, sizeof(ev));
		for (int f = 0; f < F_COUNT; f++)
			ev.has[f] = f != F_APP && f != F_CGROUP && f != F_USER && f != F_ICMPTYPE;
		unsigned i = k < 10 ? (unsigned)(k * (n - 1) / 9) : rnd((unsigned)n + 100);
		ev.val[F_DIR] = rnd(5) ? DIR_IN : DIR_OUT;
		ev.val[F_EVENT] = EVENT_PACKET;
		ev.val[F_FAMILY] = 4;
		ev.val[F_PROTO] = rnd(5) ? 6 : 17;
		ev.val[F_RADDR] = big_addr(i);
		ev.val[F_RPORT] = 10000 + i % 40000 + (rnd(4) ? 0 : 1);
		ev.val[F_LADDR] = addr_from_v4(0xc0000201);
		ev.val[F_LPORT] = rnd(2) ? 80 : 81;
		struct eval_result r;
		assert_judges_agree(&l, &t, &fp, (uint32_t)n + 1, &ev, &r);
		eval_result_free(&r);
	}
	/* cost of one classification: this policy vs its first 10 entries */
	struct event ev;
	memset(&ev, 0, sizeof(ev));
	for (int f = 0; f < F_COUNT; f++)
		ev.has[f] = f != F_APP && f != F_CGROUP && f != F_USER && f != F_ICMPTYPE;
	ev.val[F_DIR] = DIR_IN;
	ev.val[F_EVENT] = EVENT_PACKET;
	ev.val[F_FAMILY] = 4;
	ev.val[F_PROTO] = 6;
	ev.val[F_RADDR] = big_addr(n / 2);
	ev.val[F_RPORT] = 10000 + (n / 2) % 40000;
	ev.val[F_LADDR] = addr_from_v4(0xc0000201);
	ev.val[F_LPORT] = 81;
	struct cls_fields f;
	cls_event_fields(&ev, &f);
	unsigned big_ns = bpf_classify_ns(&l, &f);
	struct cls_sizes sz;
	cls_tables_sizes(&t, &sz);
	fprintf(stderr, "[ info ] %d entries: maps use %.1f MiB (memlock), estimated %.1f MiB\n", n,
		(double)maps_memlock(&l) / (1 << 20), (double)sz.bytes / (1 << 20));
	classify_test_bpf__destroy(l.skel);
	cls_tables_free(&t);

	struct flat_policy small = { .n = 12, .e = calloc(12, sizeof(struct flat_entry)) };
	for (int i = 0; i < 10; i++) {
		small.e[i] = fp.e[i];
		memset(small.e[i].cond, 0, sizeof(small.e[i].cond));
		for (int fi = 0; fi < F_COUNT; fi++)
			if (fp.e[i].cond[fi].used) {
				small.e[i].cond[fi].used = true;
				vset_copy(&small.e[i].cond[fi].set, &fp.e[i].cond[fi].set);
			}
	}
	small.e[10] = fp.e[n];
	memset(small.e[10].cond, 0, sizeof(small.e[10].cond));
	add_cond(&small.e[10], F_DIR, DIR_IN, DIR_IN);
	add_cond(&small.e[10], F_LPORT, 80, 80);
	small.e[11] = fp.e[n + 1];
	if (cls_compile(&small, 11, &t, err, sizeof(err)))
		fail_msg("%s", err);
	load_tables(&l, &t);
	ev.val[F_RADDR] = big_addr(5);
	ev.val[F_RPORT] = 10000 + 5;
	cls_event_fields(&ev, &f);
	struct cls_result kr;
	bpf_classify(&l, &f, &kr);
	assert_int_equal(kr.slot, 5); /* rule 5 denies, as rule n / 2 does above */
	unsigned small_ns = bpf_classify_ns(&l, &f);
	fprintf(stderr, "[ info ] one classification: %u ns with 10 rules, %u ns with %d rules\n", small_ns, big_ns, n);
	classify_test_bpf__destroy(l.skel);
	cls_tables_free(&t);
	flat_policy_free(&small);
	flat_policy_free(&fp);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_classify_bpf: needs root (loads BPF programs)\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_maps_deny),
		cmocka_unit_test(test_random_policies_kernel_equals_reference),
		cmocka_unit_test(test_hundred_thousand_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
