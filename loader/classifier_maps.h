/* Writing the compiled classifier tables (policy/classify.h) into the BPF
 * maps declared in bpf/classify.h.  Used by the loader and the kernel
 * tests.  Order: cls_maps_size() before the object is loaded, then
 * cls_maps_write() after; cls_config is written last, so the classifier
 * reports "not ready" (deny) until every table is complete. */
#ifndef RAMPART_CLASSIFIER_MAPS_H
#define RAMPART_CLASSIFIER_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>
#include "classify.h"

/* The maps the loader writes (cls_scratch, the lookup's per-CPU working
 * memory, needs nothing). */
struct cls_maps {
	struct bpf_map *config, *tab, *actions;
};

/* m is one of the classifier maps. */
bool cls_maps_has(const struct cls_maps *m, const struct bpf_map *map);

/* Sets max_entries of every classifier map from the tables (before load).
 * 0 or -errno, with a message (log.h). */
int cls_maps_size(const struct cls_maps *m, const struct cls_tables *t);
/* Writes the tables into the loaded maps.  0 or -errno. */
int cls_maps_write(const struct cls_maps *m, const struct cls_tables *t);

#endif
