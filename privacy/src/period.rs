//! Periods of data. Budgets are kept per calendar month of data, and a report's window is
//! always a run of whole months: a window given in days is widened to the months it
//! touches. So two overlapping custom windows both draw on every month they share, and
//! no choice of dates can shave a month's data into pieces that escape its budget.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{0}` is not a month (YYYY-MM) or a date (YYYY-MM-DD)")]
    Malformed(String),
    #[error("`from` ({from}) is after `to` ({to})")]
    Reversed { from: String, to: String },
    #[error("the window spans {months} months; at most {max} are allowed")]
    TooLong { months: usize, max: usize },
    #[error("the window {window} reaches outside the data ({first} to {last})")]
    OutsideData { window: String, first: Month, last: Month },
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=12).contains(&month) && (1970..=9999).contains(&year)).then_some(Month { year, month })
    }

    pub fn of(t: NaiveDateTime) -> Month {
        Month { year: t.year(), month: t.month() }
    }

    pub fn of_date(d: NaiveDate) -> Month {
        Month { year: d.year(), month: d.month() }
    }

    /// `YYYY-MM`, or a date `YYYY-MM-DD` meaning the month that contains it.
    pub fn parse(s: &str) -> Result<Month, PeriodError> {
        let bad = || PeriodError::Malformed(s.chars().take(40).collect());
        let s = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Month::new(d.year(), d.month()).ok_or_else(bad);
        }
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// Midnight UTC of the first day.
    pub fn start(self) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid month").and_hms_opt(0, 0, 0).expect("midnight")
    }

    pub fn contains(self, t: NaiveDateTime) -> bool {
        Month::of(t) == self
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        Month::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A run of whole months, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub from: Month,
    pub to: Month,
}

impl Window {
    /// Parses `from` and `to` (months or dates), widened to whole months.
    pub fn parse(from: &str, to: &str) -> Result<Window, PeriodError> {
        let (f, t) = (Month::parse(from)?, Month::parse(to)?);
        if f > t {
            return Err(PeriodError::Reversed { from: from.into(), to: to.into() });
        }
        Ok(Window { from: f, to: t })
    }

    pub fn months(&self) -> Vec<Month> {
        let mut out = vec![self.from];
        let mut m = self.from;
        while m < self.to {
            m = m.next();
            out.push(m);
        }
        out
    }

    /// Start of `from`, inclusive.
    pub fn start(&self) -> NaiveDateTime {
        self.from.start()
    }

    /// Start of the month after `to`, exclusive.
    pub fn end(&self) -> NaiveDateTime {
        self.to.next().start()
    }

    /// Refuses windows longer than `max_months` or outside `[first, last]`, the months
    /// for which the service holds data.
    pub fn check(&self, max_months: usize, first: Month, last: Month) -> Result<(), PeriodError> {
        if self.from < first || self.to > last {
            return Err(PeriodError::OutsideData { window: self.to_string(), first, last });
        }
        let months = self.months().len();
        if months > max_months {
            return Err(PeriodError::TooLong { months, max: max_months });
        }
        Ok(())
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn months_and_dates_parse_to_months() {
        assert_eq!(m("2026-11"), Month::new(2026, 11).unwrap());
        assert_eq!(m("2026-11-17"), Month::new(2026, 11).unwrap());
        for bad in ["2026-13", "2026-1", "26-11", "november", "2026-11-31", ""] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(m("2026-12").next(), m("2027-01"));
    }

    #[test]
    fn a_window_in_days_covers_the_whole_months_it_touches() {
        let w = Window::parse("2026-09-15", "2026-11-02").unwrap();
        assert_eq!(w.months(), vec![m("2026-09"), m("2026-10"), m("2026-11")]);
        assert_eq!(w.start(), m("2026-09").start());
        assert_eq!(w.end(), m("2026-12").start());
    }

    #[test]
    fn reversed_long_and_outside_windows_are_refused() {
        assert!(matches!(Window::parse("2026-11", "2026-10"), Err(PeriodError::Reversed { .. })));
        let w = Window::parse("2025-01", "2026-11").unwrap();
        assert!(matches!(w.check(12, m("2020-01"), m("2026-11")), Err(PeriodError::TooLong { .. })));
        let w = Window::parse("2026-10", "2026-12").unwrap();
        assert!(matches!(w.check(12, m("2026-01"), m("2026-11")), Err(PeriodError::OutsideData { .. })));
        let w = Window::parse("2025-12", "2026-02").unwrap();
        assert!(matches!(w.check(12, m("2026-01"), m("2026-11")), Err(PeriodError::OutsideData { .. })));
        assert!(Window::parse("2026-01", "2026-11").unwrap().check(12, m("2026-01"), m("2026-11")).is_ok());
    }
}
