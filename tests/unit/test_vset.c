/* Value sets: the interval algebra every rule condition is made of. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"

static const u128 MAX128 = ~(u128)0;

/* Normal form: sorted, non-overlapping, non-adjacent, lo <= hi. */
static void assert_normal(const struct vset *s)
{
	for (int i = 0; i < s->n; i++) {
		assert_true(s->r[i].lo <= s->r[i].hi);
		if (i > 0) {
			assert_true(s->r[i - 1].hi < s->r[i].lo);
			assert_true(s->r[i - 1].hi + 1 != s->r[i].lo);
		}
	}
}

static struct vset mk(int n, ...)
{
	struct vset s = { 0 };
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		unsigned lo = va_arg(ap, unsigned), hi = va_arg(ap, unsigned);
		vset_add(&s, lo, hi);
	}
	va_end(ap);
	return s;
}

static void test_field_max(void **state)
{
	assert_true(field_max(F_LADDR) == MAX128);
	assert_true(field_max(F_RADDR) == MAX128);
	assert_true(field_max(F_LPORT) == 65535);
	assert_true(field_max(F_RPORT) == 65535);
	assert_true(field_max(F_PROTO) == 255);
	assert_true(field_max(F_ICMPTYPE) == 511);
	assert_true(field_max(F_DIR) == 1);
	assert_true(field_max(F_EVENT) == EVENT_COUNT - 1);
	assert_true(field_max(F_USER) == 0xffffffffu);
}

static void test_add_merges(void **state)
{
	struct vset s = { 0 };
	assert_true(vset_empty(&s));
	vset_add(&s, 10, 20);
	vset_add(&s, 30, 40);
	assert_int_equal(s.n, 2);
	vset_add(&s, 21, 29); /* fills the gap exactly: everything becomes one */
	assert_int_equal(s.n, 1);
	assert_true(s.r[0].lo == 10 && s.r[0].hi == 40);
	vset_add(&s, 41, 41); /* adjacent above */
	vset_add(&s, 9, 9);   /* adjacent below */
	assert_int_equal(s.n, 1);
	assert_true(s.r[0].lo == 9 && s.r[0].hi == 41);
	vset_add(&s, 100, 200);
	vset_add(&s, 0, 3);
	assert_int_equal(s.n, 3);
	assert_true(s.r[0].lo == 0 && s.r[2].hi == 200);
	vset_add(&s, 2, 150); /* swallows the middle */
	assert_int_equal(s.n, 1);
	assert_true(s.r[0].lo == 0 && s.r[0].hi == 200);
	vset_add(&s, 50, 40); /* reversed: nothing */
	assert_int_equal(s.n, 1);
	assert_normal(&s);
	vset_free(&s);
	assert_int_equal(s.n, 0);
	assert_null(s.r);
}

static void test_add_at_the_top_of_the_domain(void **state)
{
	struct vset s = { 0 };
	vset_add(&s, MAX128, MAX128);
	vset_add(&s, MAX128 - 1, MAX128 - 1);
	assert_int_equal(s.n, 1);
	assert_true(s.r[0].lo == MAX128 - 1 && s.r[0].hi == MAX128);
	vset_add(&s, 0, 0);
	assert_int_equal(s.n, 2);
	assert_true(vset_contains(&s, MAX128));
	assert_true(vset_contains(&s, 0));
	assert_false(vset_contains(&s, 1));
	vset_add(&s, 0, MAX128);
	assert_int_equal(s.n, 1);
	assert_normal(&s);
	vset_free(&s);
}

static void test_contains(void **state)
{
	struct vset s = mk(3, 1u, 1u, 5u, 9u, 100u, 65535u);
	assert_false(vset_contains(&s, 0));
	assert_true(vset_contains(&s, 1));
	assert_false(vset_contains(&s, 2));
	assert_true(vset_contains(&s, 5));
	assert_true(vset_contains(&s, 7));
	assert_true(vset_contains(&s, 9));
	assert_false(vset_contains(&s, 10));
	assert_true(vset_contains(&s, 65535));
	assert_false(vset_contains(&s, 65536));
	struct vset empty = { 0 };
	assert_false(vset_contains(&empty, 0));
	vset_free(&s);
}

static void test_subset_and_equal(void **state)
{
	struct vset a = mk(2, 10u, 20u, 30u, 40u);
	struct vset b = mk(1, 0u, 100u);
	struct vset c = mk(2, 10u, 20u, 31u, 40u);
	struct vset e = { 0 };
	assert_true(vset_subset(&a, &b));
	assert_false(vset_subset(&b, &a));
	assert_true(vset_subset(&c, &a));
	assert_false(vset_subset(&a, &c));
	assert_true(vset_subset(&e, &a)); /* the empty set is in everything */
	assert_false(vset_subset(&a, &e));
	assert_true(vset_subset(&a, &a));
	assert_false(vset_equal(&a, &c));
	struct vset d;
	vset_copy(&d, &a);
	assert_true(vset_equal(&a, &d));
	assert_true(d.r != a.r); /* a real copy */
	/* an interval spanning two pieces of b is not inside b */
	struct vset gap = mk(2, 0u, 5u, 7u, 10u), span = mk(1, 4u, 8u);
	assert_false(vset_subset(&span, &gap));
	vset_free(&a);
	vset_free(&b);
	vset_free(&c);
	vset_free(&d);
	vset_free(&gap);
	vset_free(&span);
}

static void test_intersect_union(void **state)
{
	struct vset a = mk(3, 0u, 10u, 20u, 30u, 40u, 50u);
	struct vset b = mk(2, 5u, 25u, 45u, 100u);
	struct vset i, u;
	vset_intersect(&i, &a, &b);
	assert_int_equal(i.n, 3);
	assert_true(i.r[0].lo == 5 && i.r[0].hi == 10);
	assert_true(i.r[1].lo == 20 && i.r[1].hi == 25);
	assert_true(i.r[2].lo == 45 && i.r[2].hi == 50);
	vset_union(&u, &a, &b);
	assert_int_equal(u.n, 2);
	assert_true(u.r[0].lo == 0 && u.r[0].hi == 30);
	assert_true(u.r[1].lo == 40 && u.r[1].hi == 100);
	assert_normal(&i);
	assert_normal(&u);
	/* disjoint sets intersect to nothing */
	struct vset x = mk(1, 0u, 4u), y = mk(1, 5u, 9u), z;
	vset_intersect(&z, &x, &y);
	assert_true(vset_empty(&z));
	/* in place: dst may be one of the operands */
	vset_intersect(&a, &a, &b);
	assert_true(vset_equal(&a, &i));
	vset_union(&x, &x, &y);
	assert_int_equal(x.n, 1);
	assert_true(x.r[0].lo == 0 && x.r[0].hi == 9);
	vset_free(&a);
	vset_free(&b);
	vset_free(&i);
	vset_free(&u);
	vset_free(&x);
	vset_free(&y);
	vset_free(&z);
}

static void test_complement(void **state)
{
	struct vset a = mk(2, 0u, 9u, 20u, 29u), c;
	vset_complement(&c, &a, 65535);
	assert_int_equal(c.n, 2);
	assert_true(c.r[0].lo == 10 && c.r[0].hi == 19);
	assert_true(c.r[1].lo == 30 && c.r[1].hi == 65535);
	struct vset e = { 0 }, full;
	vset_complement(&full, &e, 255);
	assert_int_equal(full.n, 1);
	assert_true(full.r[0].lo == 0 && full.r[0].hi == 255);
	struct vset none;
	vset_complement(&none, &full, 255);
	assert_true(vset_empty(&none));
	/* the whole 128-bit domain, at both ends */
	struct vset top = { 0 }, notop;
	vset_add(&top, MAX128 - 5, MAX128);
	vset_complement(&notop, &top, MAX128);
	assert_int_equal(notop.n, 1);
	assert_true(notop.r[0].lo == 0 && notop.r[0].hi == MAX128 - 6);
	struct vset all128;
	vset_complement(&all128, &e, MAX128);
	assert_true(all128.n == 1 && all128.r[0].hi == MAX128);
	/* complementing twice gives the set back; in place works */
	vset_complement(&c, &c, 65535);
	assert_true(vset_equal(&c, &a));
	vset_free(&a);
	vset_free(&c);
	vset_free(&full);
	vset_free(&top);
	vset_free(&notop);
	vset_free(&all128);
}

/* Random operations on a small domain agree with a plain bitmap. */
#define DOM 200
static void to_bits(const struct vset *s, bool *bits)
{
	memset(bits, 0, DOM + 1);
	for (int i = 0; i < s->n; i++)
		for (u128 v = s->r[i].lo; v <= s->r[i].hi && v <= DOM; v++)
			bits[(int)v] = true;
}

static struct vset random_set(bool *bits)
{
	struct vset s = { 0 };
	memset(bits, 0, DOM + 1);
	int k = rand() % 6;
	for (int j = 0; j < k; j++) {
		int lo = rand() % (DOM + 1), hi = lo + rand() % 30;
		if (hi > DOM)
			hi = DOM;
		vset_add(&s, lo, hi);
		for (int v = lo; v <= hi; v++)
			bits[v] = true;
	}
	return s;
}

static void test_random_against_bitmap(void **state)
{
	srand(12345);
	bool ba[DOM + 1], bb[DOM + 1], br[DOM + 1];
	int checked = 0;
	for (int iter = 0; iter < 2000; iter++) {
		struct vset a = random_set(ba), b = random_set(bb), r;
		assert_normal(&a);
		for (int v = 0; v <= DOM; v++)
			assert_int_equal(vset_contains(&a, v), ba[v]);

		vset_intersect(&r, &a, &b);
		assert_normal(&r);
		to_bits(&r, br);
		for (int v = 0; v <= DOM; v++)
			assert_int_equal(br[v], ba[v] && bb[v]);
		vset_free(&r);

		vset_union(&r, &a, &b);
		assert_normal(&r);
		to_bits(&r, br);
		for (int v = 0; v <= DOM; v++)
			assert_int_equal(br[v], ba[v] || bb[v]);
		vset_free(&r);

		vset_complement(&r, &a, DOM);
		assert_normal(&r);
		to_bits(&r, br);
		for (int v = 0; v <= DOM; v++)
			assert_int_equal(br[v], !ba[v]);
		vset_free(&r);

		bool sub = true;
		for (int v = 0; v <= DOM; v++)
			if (ba[v] && !bb[v])
				sub = false;
		assert_int_equal(vset_subset(&a, &b), sub);
		bool eq = memcmp(ba, bb, sizeof(ba)) == 0;
		assert_int_equal(vset_equal(&a, &b), eq);
		checked++;
		vset_free(&a);
		vset_free(&b);
	}
	assert_int_equal(checked, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_max),
		cmocka_unit_test(test_add_merges),
		cmocka_unit_test(test_add_at_the_top_of_the_domain),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_subset_and_equal),
		cmocka_unit_test(test_intersect_union),
		cmocka_unit_test(test_complement),
		cmocka_unit_test(test_random_against_bitmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
