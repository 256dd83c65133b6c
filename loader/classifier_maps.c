/* Writing the classifier tables into their maps (see classifier_maps.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "classifier_maps.h"

int cls_maps_size(const struct cls_maps *m, const struct cls_tables *t, char *err, size_t errlen)
{
	struct cls_sizes s;
	cls_tables_sizes(t, &s);
	struct {
		struct bpf_map *map;
		uint32_t n;
	} v[] = { { m->config, 1 }, { m->tab, s.blocks }, { m->actions, s.actions } };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = bpf_map__set_max_entries(v[i].map, v[i].n);
		if (rc) {
			snprintf(err, errlen, "cannot size classifier map %s to %u entries: %s",
				 bpf_map__name(v[i].map), v[i].n, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* Array elements 0..n-1, in batches. */
static int write_array(struct bpf_map *map, const uint32_t *keys, const void *vals, size_t vsize, uint32_t n,
		       char *err, size_t errlen)
{
	int fd = bpf_map__fd(map);
	uint32_t done = 0;
	while (done < n) {
		uint32_t count = n - done > 65536 ? 65536 : n - done;
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		if (bpf_map_update_batch(fd, keys + done, (const char *)vals + done * vsize, &count, &o))
			break;
		done += count;
	}
	for (; done < n; done++) {
		if (bpf_map_update_elem(fd, &keys[done], (const char *)vals + done * vsize, BPF_ANY)) {
			snprintf(err, errlen, "cannot write classifier map %s (entry %u of %u): %s",
				 bpf_map__name(map), done, n, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int cls_maps_write(const struct cls_maps *m, const struct cls_tables *t, char *err, size_t errlen)
{
	uint32_t nblocks = t->ntab / CLS_BLOCK_WORDS;
	uint32_t nmax = nblocks > t->nactions ? nblocks : t->nactions;
	uint32_t *idx = malloc((nmax ? nmax : 1) * sizeof(uint32_t));
	if (!idx) {
		snprintf(err, errlen, "out of memory writing the classifier maps");
		return -1;
	}
	for (uint32_t i = 0; i < nmax; i++)
		idx[i] = i;
	int rc = -1;
	if (write_array(m->tab, idx, t->tab, sizeof(struct cls_block), nblocks, err, errlen) ||
	    write_array(m->actions, idx, t->actions, sizeof(struct cls_result), t->nactions, err, errlen) ||
	    write_array(m->config, idx, &t->config, sizeof(t->config), 1, err, errlen))
		goto out;
	rc = 0;
out:
	free(idx);
	return rc;
}
