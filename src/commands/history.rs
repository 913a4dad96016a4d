//! `nixpy history`: the project's generations, newest first: number,
//! date, the command that made each and what it changed.

use crate::build::Context;
use crate::entry::ProjectCache;
use crate::error::Result;
use crate::history::{self, Generation};
use crate::support::date::utc_minute;
use crate::ui;

pub(super) fn run(ctx: &Context) -> Result<i32> {
    let location = ctx.locate()?;
    let pc = ProjectCache::of(&location)?;
    let generations = history::list(&pc.dir);
    if generations.is_empty() {
        ui::status(&format!(
            "{} has no generations yet: nixpy records one each time it builds the environment",
            location.root.display()
        ));
        return Ok(0);
    }
    print!("{}", table(&generations, history::current(&pc.dir)));
    ui::note("* marks the generation in use; `nixpy rollback N` goes back to generation N (keep-generations says how many stay)");
    Ok(0)
}

/// Newest first, `*` on the current one.
fn table(generations: &[Generation], current: Option<u32>) -> String {
    let number_width = generations
        .iter()
        .map(|g| g.number.to_string().len())
        .max()
        .unwrap_or(1);
    let command_width = generations
        .iter()
        .map(|g| g.command.len())
        .chain(["command".len()])
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "  {:>number_width$}  {:16}  {:command_width$}  change\n",
        "#", "date (UTC)", "command"
    );
    for generation in generations.iter().rev() {
        let marker = if Some(generation.number) == current {
            '*'
        } else {
            ' '
        };
        out.push_str(&format!(
            "{marker} {:>number_width$}  {}  {:command_width$}  {}\n",
            generation.number,
            utc_minute(generation.created),
            generation.command,
            generation.change,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generation(number: u32, created: i64, command: &str, change: &str) -> Generation {
        Generation {
            number,
            created,
            command: command.into(),
            change: change.into(),
            files: Vec::new(),
            store_paths: Vec::new(),
        }
    }

    #[test]
    fn newest_first_with_the_current_one_marked() {
        let list = [
            generation(9, 1_700_000_000, "nixpy run", "first environment"),
            generation(10, 1_700_000_600, "nixpy add", "packages +sox"),
        ];
        assert_eq!(
            table(&list, Some(9)),
            "   #  date (UTC)        command    change\n  10  2023-11-14 22:23  nixpy add  packages +sox\n*  9  2023-11-14 22:13  nixpy run  first environment\n"
        );
    }
}
