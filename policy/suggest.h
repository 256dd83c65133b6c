/* "Did you mean ...?" for misspelt keywords and names. */
#ifndef RAMPART_SUGGEST_H
#define RAMPART_SUGGEST_H

/* Optimal string alignment distance: Levenshtein where swapped neighbours
 * ("lna" for "lan") count as one typo.  Strings over 64 bytes give 99. */
int edit_distance(const char *a, const char *b);
/* The closest of names[0..n) -- or of a NULL-terminated list when n < 0 --
 * when it is close enough to be a likely typo of w; else NULL. */
const char *suggest_name(const char *w, const char *const *names, int n);

#endif
