// SPDX-License-Identifier: GPL-2.0
/* Test harness for bpf/classify.h: classifies the event in `cls_in` and
 * stores the answer in `cls_out` (both globals, set and read through the
 * skeleton), run with BPF_PROG_TEST_RUN by tests/kernel/test_classify_bpf.c.
 * An XDP program, like the datapath that uses the classifier, so the
 * verifier checks it in the same setting. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "rampart_types.h"
#include "rampart_classifier.h"
#include "classify.h"

char LICENSE[] SEC("license") = "GPL";

struct cls_fields cls_in;
struct cls_result cls_out;
int cls_ret;

SEC("xdp")
int classify_test(struct xdp_md *ctx)
{
	cls_ret = rp_classify(&cls_in, &cls_out);
	return XDP_PASS;
}
