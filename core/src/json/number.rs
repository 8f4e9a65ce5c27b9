//! Exact comparison of JSON numbers by their text, so that
//! `12345678901234567890` and `12345678901234567891` differ and `1e2` equals `100`.
//!
//! Exponents are kept in an `i64`: one written with more digits than
//! [`EXACT_EXPONENT_DIGITS`] may be saturated, so two such numbers can
//! compare equal. [`Decimal::parse_exact`] refuses them, for comparisons that
//! must be exact; any number it reads is equal to another only when their
//! values are.

use std::cmp::Ordering;

/// The most digits of a written exponent that [`Decimal::parse_exact`]
/// takes: far below where `i64` exponents saturate, so a saturated number
/// never equals one it read.
pub(crate) const EXACT_EXPONENT_DIGITS: usize = 15;

/// A JSON number as sign, significant digits and a power of ten:
/// `0.d1 d2 d3 … × 10^exponent`, with no leading or trailing zero digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

impl Decimal {
    /// Reads a number in JSON's grammar (surrounding whitespace allowed);
    /// `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (mantissa, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
            return None;
        }
        if frac.is_some_and(|f| !all_digits(f)) {
            return None;
        }
        let exp_value = match exp_text {
            None => 0i64,
            Some(e) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => (-1, d),
                    None => (1, e.strip_prefix('+').unwrap_or(e)),
                };
                if !all_digits(digits) {
                    return None;
                }
                // Exponents beyond ±10^15 all compare the same way; saturate.
                let magnitude = digits
                    .trim_start_matches('0')
                    .parse::<i64>()
                    .unwrap_or(if digits.trim_start_matches('0').is_empty() {
                        0
                    } else {
                        i64::MAX / 4
                    })
                    .min(i64::MAX / 4);
                sign * magnitude
            }
        };
        let mut digits: Vec<u8> = int
            .bytes()
            .chain(frac.unwrap_or("").bytes())
            .map(|b| b - b'0')
            .collect();
        let mut exponent = exp_value.saturating_add(int.len() as i64);
        let leading = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..leading);
        exponent = exponent.saturating_sub(leading as i64);
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Some(Self {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        Some(Self {
            negative,
            digits,
            exponent,
        })
    }

    /// As [`Decimal::parse`], for a number whose exponent is written with
    /// at most [`EXACT_EXPONENT_DIGITS`] digits (leading zeros aside); `None`
    /// for one with more.
    pub(crate) fn parse_exact(text: &str) -> Option<Self> {
        let exponent = text.find(['e', 'E']).map_or("", |at| &text[at + 1..]);
        let digits = exponent
            .trim_start_matches(['+', '-'])
            .trim_start_matches('0');
        if digits.len() > EXACT_EXPONENT_DIGITS {
            return None;
        }
        Self::parse(text)
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A whole number written as ASCII digits only: no sign, no spaces, no
/// fraction (`+5`, ` 5` and `5.0` are refused, though Rust's `parse` takes
/// the first two). Used for every count and duration a request gives.
pub(crate) fn whole_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Digits only, so the one failure left is overflow: saturate.
    Some(text.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_digits_only() {
        assert_eq!(whole_number("0"), Some(0));
        assert_eq!(whole_number("0042"), Some(42));
        assert_eq!(whole_number("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", "+1", "-1", " 1", "1 ", "1.0", "1e3", "\t1", "x"] {
            assert_eq!(whole_number(bad), None, "{bad:?}");
        }
    }

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn equal_values_with_different_text() {
        for (a, b) in [
            ("100", "1e2"),
            ("1.10", "1.1"),
            ("0", "-0.0"),
            ("0.5", "5E-1"),
            ("120", "1.2e+2"),
        ] {
            assert_eq!(d(a), d(b), "{a} = {b}");
        }
    }

    #[test]
    fn order_is_exact() {
        let ascending = [
            "-1e400",
            "-12345678901234567891",
            "-12345678901234567890",
            "-2.5",
            "-0.001",
            "0",
            "1e-400",
            "0.1",
            "1",
            "1.0000000000000000001",
            "9",
            "10",
            "12345678901234567890",
            "12345678901234567891",
            "1e400",
        ];
        for pair in ascending.windows(2) {
            assert!(d(pair[0]) < d(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn only_json_numbers_parse() {
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "0x10", "NaN", "Infinity", "1,5", "+1", "1 2",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
        assert!(Decimal::parse("1e99999999999999999999999").is_some());
    }

    #[test]
    fn exact_parses_refuse_exponents_that_could_saturate() {
        assert_eq!(
            Decimal::parse_exact("1e999999999999999"),
            Some(d("1e999999999999999"))
        );
        assert_eq!(
            Decimal::parse_exact("-2E-0000999999999999999"),
            Some(d("-2e-999999999999999"))
        );
        assert_eq!(Decimal::parse_exact("1e1000000000000000"), None);
        assert_eq!(Decimal::parse_exact("1e-1000000000000000"), None);
        assert!(
            Decimal::parse_exact("1e999999999999999") != Some(d("1e9999999999999999999999")),
            "a saturated number never equals an exact one"
        );
        assert_eq!(Decimal::parse_exact("12.5"), Some(d("1.25e1")));
    }
}
