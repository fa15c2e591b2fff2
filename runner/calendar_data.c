/* calendar_data.c - NYSE holidays and 13:00 early closes, 2024-2027, as NYSE
 * Group published them (holiday calendar announcements of 2021-12-27,
 * 2024-11-08 and 2025-12-23), plus the closure of 2025-01-09, the national
 * day of mourning for President Carter. Saturday holidays are observed on
 * the Friday before and Sunday ones on the Monday after, except New Year's
 * Day on a Saturday (no holiday, NYSE Rule 7.2). Sorted by date. */
#include "calendar.h"

#define H(y, m, d, name) {(y), (m), (d), CAL_HOLIDAY, (name)}
#define E(y, m, d, name) {(y), (m), (d), CAL_EARLY_CLOSE, (name)}

const cal_special_t cal_specials[] = {
    H(2024, 1, 1, "New Year's Day"),
    H(2024, 1, 15, "Martin Luther King, Jr. Day"),
    H(2024, 2, 19, "Washington's Birthday"),
    H(2024, 3, 29, "Good Friday"),
    H(2024, 5, 27, "Memorial Day"),
    H(2024, 6, 19, "Juneteenth"),
    E(2024, 7, 3, "Independence Day eve"),
    H(2024, 7, 4, "Independence Day"),
    H(2024, 9, 2, "Labor Day"),
    H(2024, 11, 28, "Thanksgiving Day"),
    E(2024, 11, 29, "Day after Thanksgiving"),
    E(2024, 12, 24, "Christmas Eve"),
    H(2024, 12, 25, "Christmas Day"),

    H(2025, 1, 1, "New Year's Day"),
    H(2025, 1, 9, "National Day of Mourning for President Carter"),
    H(2025, 1, 20, "Martin Luther King, Jr. Day"),
    H(2025, 2, 17, "Washington's Birthday"),
    H(2025, 4, 18, "Good Friday"),
    H(2025, 5, 26, "Memorial Day"),
    H(2025, 6, 19, "Juneteenth"),
    E(2025, 7, 3, "Independence Day eve"),
    H(2025, 7, 4, "Independence Day"),
    H(2025, 9, 1, "Labor Day"),
    H(2025, 11, 27, "Thanksgiving Day"),
    E(2025, 11, 28, "Day after Thanksgiving"),
    E(2025, 12, 24, "Christmas Eve"),
    H(2025, 12, 25, "Christmas Day"),

    H(2026, 1, 1, "New Year's Day"),
    H(2026, 1, 19, "Martin Luther King, Jr. Day"),
    H(2026, 2, 16, "Washington's Birthday"),
    H(2026, 4, 3, "Good Friday"),
    H(2026, 5, 25, "Memorial Day"),
    H(2026, 6, 19, "Juneteenth"),
    H(2026, 7, 3, "Independence Day (observed)"),
    H(2026, 9, 7, "Labor Day"),
    H(2026, 11, 26, "Thanksgiving Day"),
    E(2026, 11, 27, "Day after Thanksgiving"),
    E(2026, 12, 24, "Christmas Eve"),
    H(2026, 12, 25, "Christmas Day"),

    H(2027, 1, 1, "New Year's Day"),
    H(2027, 1, 18, "Martin Luther King, Jr. Day"),
    H(2027, 2, 15, "Washington's Birthday"),
    H(2027, 3, 26, "Good Friday"),
    H(2027, 5, 31, "Memorial Day"),
    H(2027, 6, 18, "Juneteenth (observed)"),
    H(2027, 7, 5, "Independence Day (observed)"),
    H(2027, 9, 6, "Labor Day"),
    H(2027, 11, 25, "Thanksgiving Day"),
    E(2027, 11, 26, "Day after Thanksgiving"),
    H(2027, 12, 24, "Christmas Day (observed)"),
};

const size_t cal_nspecials = sizeof cal_specials / sizeof cal_specials[0];
