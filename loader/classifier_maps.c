/* Writing the classifier tables into their maps (see classifier_maps.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "classifier_maps.h"
#include "log.h"

int cls_maps_size(const struct cls_maps *m, const struct cls_tables *t)
{
	struct cls_sizes s;
	cls_tables_sizes(t, &s);
	struct {
		struct bpf_map *map;
		uint32_t n;
	} v[] = { { m->config, 1 }, { m->tab, s.blocks }, { m->actions, s.actions } };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = bpf_map__set_max_entries(v[i].map, v[i].n);
		if (rc)
			return pr_err_r(rc, "cannot size classifier map %s to %u entries", bpf_map__name(v[i].map),
					v[i].n);
	}
	return 0;
}

/* Array elements 0..n-1, in batches (element by element where batches
 * are not supported). */
static int write_array(struct bpf_map *map, const uint32_t *keys, const void *vals, size_t vsize, uint32_t n)
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
	for (; done < n; done++)
		if (bpf_map_update_elem(fd, &keys[done], (const char *)vals + done * vsize, BPF_ANY))
			return pr_err_r(-errno, "cannot write classifier map %s (entry %u of %u)", bpf_map__name(map),
					done, n);
	return 0;
}

int cls_maps_write(const struct cls_maps *m, const struct cls_tables *t)
{
	uint32_t nblocks = t->ntab / CLS_BLOCK_WORDS;
	uint32_t nmax = nblocks > t->nactions ? nblocks : t->nactions;
	uint32_t *idx = malloc((nmax ? nmax : 1) * sizeof(uint32_t));
	int rc;
	if (!idx) {
		pr_err("out of memory writing the classifier maps");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < nmax; i++)
		idx[i] = i;
	/* the configuration last: not ready until the tables are complete */
	rc = write_array(m->tab, idx, t->tab, sizeof(struct cls_block), nblocks);
	if (!rc)
		rc = write_array(m->actions, idx, t->actions, sizeof(struct cls_result), t->nactions);
	if (!rc)
		rc = write_array(m->config, idx, &t->config, sizeof(t->config), 1);
	free(idx);
	return rc;
}

bool cls_maps_has(const struct cls_maps *m, const struct bpf_map *map)
{
	return map == m->config || map == m->tab || map == m->actions;
}
