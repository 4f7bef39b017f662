//! clap value parsers that check a value with its type's rule (`FromStr`), the same rule answers
//! files and prompts use, and echo a refused value back escaped, so control characters typed into
//! a flag never reach the terminal raw.

use crate::model::flags::Flag;
use crate::model::values::Invalid;

/// The flag's name as clap's error should show it: `--long`, else `<VALUE>`.
fn shown_name(arg: Option<&clap::Arg>) -> String {
    arg.and_then(|arg| arg.get_long().map(|long| format!("--{long}")))
        .or_else(|| {
            let arg = arg?;
            let name = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map_or_else(|| arg.get_id().to_string(), |name| name.to_string());
            Some(format!("<{name}>"))
        })
        .unwrap_or_default()
}

/// Parses `value` with `parse`, or gives clap's "invalid value" error naming the flag and rule.
fn parse_or_refuse<T>(
    command: &clap::Command,
    arg: Option<&clap::Arg>,
    value: &std::ffi::OsStr,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<T, clap::Error> {
    let refuse = |why: String| {
        let escaped = value.to_string_lossy().escape_debug().to_string();
        clap::Error::raw(
            clap::error::ErrorKind::InvalidValue,
            format!(
                "invalid value '{escaped}' for '{}': {why}\n",
                shown_name(arg)
            ),
        )
        .with_cmd(command)
    };
    let text = value
        .to_str()
        .ok_or_else(|| refuse("it is not valid UTF-8".into()))?;
    parse(text).map_err(|Invalid(why)| refuse(why))
}

/// A value of type `T`, checked by `T::from_str`.
#[derive(Clone)]
pub struct Checked<T>(std::marker::PhantomData<fn() -> T>);

pub fn checked<T>() -> Checked<T> {
    Checked(std::marker::PhantomData)
}

impl<T> clap::builder::TypedValueParser for Checked<T>
where
    T: std::str::FromStr<Err = Invalid> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        parse_or_refuse(command, arg, value, |text| text.parse::<T>())
    }
}

/// A setup flag's text, checked by the flag's own setter (`model::flags`); kept as text, which
/// the setter then stores in `Given`.
#[derive(Clone, Copy)]
pub struct FlagValue(pub &'static Flag);

impl clap::builder::TypedValueParser for FlagValue {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        parse_or_refuse(command, arg, value, |text| {
            self.0.check(text).map(|()| text.to_string())
        })
    }
}
