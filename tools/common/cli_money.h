/* Amounts as people read them: major units with the currency's ISO 4217
 * exponent. */
#ifndef SFJ_TOOLS_CLI_MONEY_H
#define SFJ_TOOLS_CLI_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* The number of minor-unit digits of ISO 4217 code `cur`: 0 for JPY,
 * KRW, ..., 3 for BHD, KWD, ..., 4 for CLF and UYW, 2 for any other code
 * of three capital letters; -1 for no currency or anything else (the
 * amount is then shown as it is stored). */
int sfj__cli_currency_exponent(const char *cur);

/* "EUR 1234.56", "JPY 1234", "KWD -1.234" (exact digits), or, when the
 * exponent is unknown, the currency as given and the minor units, into
 * `out` (cap >= 48). */
void sfj__cli_format_amount(int64_t minor, const char *cur, char *out,
                            size_t cap);

/* The same for a difference: "EUR +12.50", "EUR -12.50", "EUR 0.00". */
void sfj__cli_format_delta(int64_t minor, const char *cur, char *out,
                           size_t cap);

#endif
