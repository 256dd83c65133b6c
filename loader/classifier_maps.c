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
	} v[] = { { m->config, 1 },	 { m->values, s.values }, { m->prefixes, s.prefixes },
		  { m->pairs, s.pairs }, { m->info, s.info },	  { m->actions, s.actions } };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = bpf_map__set_max_entries(v[i].map, v[i].n);
		if (rc)
			return pr_err_r(rc, "cannot size classifier map %s to %u entries", bpf_map__name(v[i].map),
					v[i].n);
	}
	return 0;
}

/* Batch update where the map type supports it, element by element otherwise. */
static int write_elems(struct bpf_map *map, const void *keys, size_t ksize, const void *vals, size_t vsize, uint32_t n)
{
	int fd = bpf_map__fd(map);
	uint32_t done = 0;
	if (bpf_map__type(map) != BPF_MAP_TYPE_LPM_TRIE) {
		while (done < n) {
			uint32_t count = n - done > 65536 ? 65536 : n - done;
			LIBBPF_OPTS(bpf_map_batch_opts, o);
			if (bpf_map_update_batch(fd, (const char *)keys + done * ksize,
						 (const char *)vals + done * vsize, &count, &o))
				break;
			done += count;
		}
	}
	for (; done < n; done++) {
		if (bpf_map_update_elem(fd, (const char *)keys + done * ksize, (const char *)vals + done * vsize,
					BPF_ANY)) {
			return pr_err_r(-errno, "cannot write classifier map %s (entry %u of %u)", bpf_map__name(map),
					done, n);
		}
	}
	return 0;
}

static uint32_t *index_keys(uint32_t n)
{
	uint32_t *k = malloc((n ? n : 1) * sizeof(uint32_t));
	if (k)
		for (uint32_t i = 0; i < n; i++)
			k[i] = i;
	return k;
}

/* Prefix and pair entries hold key and value together: split them. */
static int write_pairs_of(struct bpf_map *map, const void *entries, size_t esize, size_t ksize, uint32_t n)
{
	char *keys = malloc((n ? n : 1) * ksize);
	struct cls_class *vals = malloc((n ? n : 1) * sizeof(struct cls_class));
	int rc = -ENOMEM;
	if (!keys || !vals) {
		pr_err("out of memory writing classifier map %s", bpf_map__name(map));
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const char *e = (const char *)entries + i * esize;
		memcpy(keys + i * ksize, e, ksize);
		memcpy(&vals[i], e + ksize, sizeof(struct cls_class));
	}
	rc = write_elems(map, keys, ksize, vals, sizeof(struct cls_class), n);
out:
	free(keys);
	free(vals);
	return rc;
}

int cls_maps_write(const struct cls_maps *m, const struct cls_tables *t)
{
	uint32_t nmax = t->nvalues;
	if (t->ninfo > nmax)
		nmax = t->ninfo;
	if (t->nactions > nmax)
		nmax = t->nactions;
	uint32_t *idx = index_keys(nmax);
	int rc;
	if (!idx) {
		pr_err("out of memory writing the classifier maps");
		return -ENOMEM;
	}
	_Static_assert(offsetof(struct cls_prefix_entry, value) == sizeof(struct cls_prefix_key), "layout");
	_Static_assert(offsetof(struct cls_pair_entry, value) == sizeof(struct cls_pair_key), "layout");
	if ((rc = write_elems(m->values, idx, 4, t->values, sizeof(struct cls_class), t->nvalues)) ||
	    (rc = write_elems(m->info, idx, 4, t->info, sizeof(struct cls_class), t->ninfo)) ||
	    (rc = write_elems(m->actions, idx, 4, t->actions, sizeof(struct cls_result), t->nactions)) ||
	    (rc = write_pairs_of(m->prefixes, t->prefixes, sizeof(struct cls_prefix_entry),
				 sizeof(struct cls_prefix_key), t->nprefixes)) ||
	    (rc = write_pairs_of(m->pairs, t->pairs, sizeof(struct cls_pair_entry), sizeof(struct cls_pair_key),
				 t->npairs)) ||
	    (rc = write_elems(m->config, idx, 4, &t->config, sizeof(t->config), 1)))
		goto out;
out:
	free(idx);
	return rc;
}

bool cls_maps_has(const struct cls_maps *m, const struct bpf_map *map)
{
	return map == m->config || map == m->values || map == m->prefixes || map == m->pairs || map == m->info ||
	       map == m->actions;
}
