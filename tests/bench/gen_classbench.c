/* Writes a ClassBench-style policy (tests/bench/classbench.h) to stdout:
 *   gen_classbench acl|fw|ipc|uniform RULES [SEED]
 * e.g. build/bench/gen_classbench fw 100000 1 > fw100k.rules; rampart check fw100k.rules */
#include "classbench.h"

int main(int argc, char **argv)
{
	int p = argc >= 3 ? cb_profile_from_name(argv[1]) : -1;
	int n = argc >= 3 ? atoi(argv[2]) : 0;
	if (p < 0 || n < 1 || argc > 4) {
		fprintf(stderr, "usage: %s acl|fw|ipc|uniform RULES [SEED]\n", argv[0]);
		return 2;
	}
	char *text = cb_policy((enum cb_profile)p, n, argc == 4 ? strtoull(argv[3], NULL, 0) : 1);
	fputs(text, stdout);
	free(text);
	return 0;
}
