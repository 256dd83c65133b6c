#include <string.h>
#include "suggest.h"

int edit_distance(const char *a, const char *b)
{
	int la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	int d[65][65];
	for (int i = 0; i <= la; i++)
		d[i][0] = i;
	for (int j = 0; j <= lb; j++)
		d[0][j] = j;
	for (int i = 1; i <= la; i++)
		for (int j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

const char *suggest_name(const char *w, const char *const *names, int n)
{
	const char *best = NULL;
	int bestd = 99;
	for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
		int dist = edit_distance(w, names[i]);
		if (dist < bestd) {
			bestd = dist;
			best = names[i];
		}
	}
	if (!best)
		return NULL;
	/* short words tolerate fewer typos, and a suggestion must share something */
	int len = strlen(best);
	int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	return bestd <= limit && bestd <= (int)strlen(w) ? best : NULL;
}
