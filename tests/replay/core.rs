//! Replays every conformance case against the engine, in-process.

use conformance::{case::cases_dir, load_all, run_case, CoreTarget};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let cases = match load_all(&cases_dir()) {
        Ok(cases) => cases,
        Err(err) => {
            eprintln!("could not load the cases: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let trials = cases
        .into_iter()
        .map(|case| {
            Trial::test(case.name.clone(), move || {
                let mut target = CoreTarget::new(&case.env)?;
                run_case(&case, &mut target).map_err(Failed::from)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
