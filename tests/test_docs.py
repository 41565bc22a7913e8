"""The project's documents speak of dates and commits, not of who measured or when "today" was.

README.md and docs/ describe the product as it is; the history of a number is a short
dated table in docs/scaling.md (issue 13, 21).
"""

import re
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
DOCUMENTS = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]
# Who ran a measurement, or a day only its writer knew.
WHO_OR_WHEN = re.compile(
    r"\bsessions? \d+\b|\bsession \d+'s\b|\bhelper's\b|\bby a helper\b|\btoday\b|\byesterday\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_documents_name_measurements_by_date_and_commit_not_by_who_ran_them(path):
    found = [
        f"{path.name}:{number}: {line.strip()[:80]}"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WHO_OR_WHEN.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_history_of_the_numbers_is_a_short_dated_table():
    text = (BASE_DIR / "docs" / "scaling.md").read_text()
    history = text.split("\n## History\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in history.strip().splitlines() if line.strip()]
    header, rule, *rows = lines
    assert header.startswith("| Date | Commit |") and set(rule) <= set("|- ")
    assert rows and len(rows) <= 12, "a short table"
    for row in rows:
        assert re.match(r"\| 20\d\d-\d\d-\d\d \| [0-9a-f]{7,40} \|", row), row
