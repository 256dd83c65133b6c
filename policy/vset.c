/* Value sets: sorted, non-overlapping, non-adjacent closed intervals over
 * unsigned 128-bit values.  Every rule condition is one of these, so the
 * set algebra here is what flattening (intersection), lint (subset) and
 * negation (complement) rely on.  Normal form makes equality a plain
 * element-wise comparison. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "policy.h"

u128 field_max(enum field f)
{
	switch (f) {
	case F_DIR:
		return DIR_COUNT - 1;
	case F_EVENT:
		return EVENT_COUNT - 1;
	case F_FAMILY:
		return 6;
	case F_PROTO:
		return 255;
	case F_LPORT:
	case F_RPORT:
		return 65535;
	case F_ICMPTYPE:
		return ICMPV6_TYPE_BASE + 255;
	case F_LADDR:
	case F_RADDR:
		return ~(u128)0;
	case F_IFACE:
	case F_APP:
	case F_CGROUP:
	case F_USER:
		return UINT32_MAX;
	default:
		return ~(u128)0;
	}
}

void vset_free(struct vset *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

/* Make room for n intervals (the capacity is s->n: realloc keeps it simple,
 * and glibc's realloc amortises growth well enough for policy sizes). */
static void reserve(struct vset *s, int n)
{
	if (n <= s->n)
		return;
	struct vrange *nr = realloc(s->r, (size_t)n * sizeof(*nr));
	if (!nr)
		abort();
	s->r = nr;
}

/* Do [alo,ahi] and [blo,bhi] overlap or touch? (careful at 2^128-1) */
static bool touches(u128 alo, u128 ahi, u128 blo, u128 bhi)
{
	if (ahi < blo)
		return ahi + 1 == blo;
	if (bhi < alo)
		return bhi + 1 == alo;
	return true;
}

void vset_add(struct vset *s, u128 lo, u128 hi)
{
	if (lo > hi)
		return;
	/* first interval that is not entirely before [lo,hi] (and not touching) */
	int i = 0;
	while (i < s->n && s->r[i].hi < lo && s->r[i].hi + 1 != lo)
		i++;
	int j = i;
	while (j < s->n && touches(s->r[j].lo, s->r[j].hi, lo, hi)) {
		if (s->r[j].lo < lo)
			lo = s->r[j].lo;
		if (s->r[j].hi > hi)
			hi = s->r[j].hi;
		j++;
	}
	/* replace s->r[i..j) by one interval */
	int newn = s->n - (j - i) + 1;
	reserve(s, newn);
	memmove(&s->r[i + 1], &s->r[j], (size_t)(s->n - j) * sizeof(*s->r));
	s->r[i].lo = lo;
	s->r[i].hi = hi;
	s->n = newn;
}

bool vset_contains(const struct vset *s, u128 v)
{
	int lo = 0, hi = s->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (v < s->r[mid].lo)
			hi = mid - 1;
		else if (v > s->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool vset_empty(const struct vset *s)
{
	return s->n == 0;
}

bool vset_subset(const struct vset *a, const struct vset *b)
{
	int j = 0;
	for (int i = 0; i < a->n; i++) {
		while (j < b->n && b->r[j].hi < a->r[i].lo)
			j++;
		/* normal form: an interval of a lies within a single interval of b */
		if (j == b->n || b->r[j].lo > a->r[i].lo || b->r[j].hi < a->r[i].hi)
			return false;
	}
	return true;
}

bool vset_equal(const struct vset *a, const struct vset *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (a->r[i].lo != b->r[i].lo || a->r[i].hi != b->r[i].hi)
			return false;
	return true;
}

static void set_from(struct vset *dst, const struct vrange *r, int n)
{
	dst->r = NULL;
	dst->n = 0;
	if (n == 0)
		return;
	reserve(dst, n);
	memcpy(dst->r, r, (size_t)n * sizeof(*r));
	dst->n = n;
}

void vset_copy(struct vset *dst, const struct vset *src)
{
	set_from(dst, src->r, src->n);
}

/* Results are built in a temporary so dst may alias a or b. */
void vset_intersect(struct vset *dst, const struct vset *a, const struct vset *b)
{
	struct vrange *out = malloc((size_t)(a->n + b->n + 1) * sizeof(*out));
	int n = 0, i = 0, j = 0;
	if (!out)
		abort();
	while (i < a->n && j < b->n) {
		u128 lo = a->r[i].lo > b->r[j].lo ? a->r[i].lo : b->r[j].lo;
		u128 hi = a->r[i].hi < b->r[j].hi ? a->r[i].hi : b->r[j].hi;
		if (lo <= hi)
			out[n++] = (struct vrange){ lo, hi };
		if (a->r[i].hi < b->r[j].hi)
			i++;
		else
			j++;
	}
	/* pieces of normalised sets never touch each other, so out is normal */
	bool alias = dst == a || dst == b;
	struct vset res;
	set_from(&res, out, n);
	free(out);
	if (alias)
		vset_free(dst);
	*dst = res;
}

void vset_union(struct vset *dst, const struct vset *a, const struct vset *b)
{
	struct vset res;
	bool alias = dst == a || dst == b;
	set_from(&res, a->r, a->n);
	for (int i = 0; i < b->n; i++)
		vset_add(&res, b->r[i].lo, b->r[i].hi);
	if (alias)
		vset_free(dst);
	*dst = res;
}

void vset_complement(struct vset *dst, const struct vset *a, u128 max)
{
	struct vset res = { 0 };
	u128 next = 0;	   /* smallest value not yet decided */
	bool done = false; /* next wrapped past max */
	for (int i = 0; i < a->n && !done; i++) {
		if (a->r[i].lo > max)
			break;
		if (a->r[i].lo > next)
			vset_add(&res, next, a->r[i].lo - 1);
		if (a->r[i].hi >= max)
			done = true;
		else
			next = a->r[i].hi + 1;
	}
	if (!done)
		vset_add(&res, next, max);
	if (dst == a)
		vset_free(dst);
	*dst = res;
}
