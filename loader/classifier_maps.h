/* Writing the compiled classifier tables (policy/classify.h) into the BPF
 * maps declared in bpf/classify.h.  Used by the loader, the kernel tests
 * and the bench.  Order: cls_maps_size() before the object is loaded, then
 * cls_maps_write() after; cls_config is written last, so the classifier
 * reports "not ready" (deny) until every table is complete. */
#ifndef RAMPART_CLASSIFIER_MAPS_H
#define RAMPART_CLASSIFIER_MAPS_H

#include <stddef.h>
#include <bpf/libbpf.h>
#include "classify.h"

/* The classifier's maps, by name (every object that classifies has them;
 * the socket hooks share them with the datapath). */
#define CLS_MAP_NAMES "cls_config", "cls_tab", "cls_actions"

struct cls_maps {
	struct bpf_map *config, *tab, *actions;
};

/* Sets max_entries of every classifier map from the tables (before load).
 * Returns 0, or -1 with a message in err. */
int cls_maps_size(const struct cls_maps *m, const struct cls_tables *t, char *err, size_t errlen);
/* Writes the tables into the loaded maps.  Returns 0, or -1 with err. */
int cls_maps_write(const struct cls_maps *m, const struct cls_tables *t, char *err, size_t errlen);

#endif
