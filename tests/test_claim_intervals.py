"""Issue 13, acceptance 3: no claim in the book rests on a Student-t interval with fewer than 5
degrees of freedom, leaves the range of a bounded quantity, or hides what its interval rests on.

Every chapter's ``check_claims`` is run on its golden inputs (the tables its own tests build, one
set where every rule holds and one where they fail); the claim files of the quick profile are
checked too when they exist.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import test_advisor_study as ch07
import test_experiments_coloured_mnist as ch03
import test_explanations_claims as ch06
import test_real_datasets_claims as ch04
import test_regularisation_claims as ch05
import test_theory_claims as ch01

from latentsep.experiments import real_datasets_claims as rc
from latentsep.experiments.advisor_study import check_claims as check_advisor
from latentsep.experiments.coloured_mnist_claims import check_claims as check_mnist
from latentsep.report import claim_interval_problems, read_claim_objects
from latentsep.theory import claims as theory

QUICK_RESULTS = Path(__file__).resolve().parents[1] / "results" / "quick"

GOLDEN = {
    "01 bound holds": lambda: theory.check_claims(ch01._results()),
    "03 paper-like": lambda: check_mnist(ch03.golden()),
    "03 contradicted": lambda: check_mnist(ch03.failing()),
    "04 reproduced": lambda: rc.check_claims(ch04.results()),
    "04 not reproduced": lambda: rc.check_claims(ch04.results(r=(0.2, -0.3, 0.6))),
    "05 predicted side": lambda: ch05.check(ch05.changes_table(ch05.GOOD),
                                            ch05.matched_table((0.01, 0.002, 0.02))),
    "05 six seeds": lambda: ch05.check(ch05.changes_table(ch05.GOOD, n_seeds=6),
                                       ch05.matched_table((0.01, 0.002, 0.02))),
    "06 as predicted": lambda: ch06.check(*ch06.AS_PREDICTED.values()),
    "07 golden study": lambda: check_advisor(ch07._results()),
}


@pytest.mark.parametrize("case", list(GOLDEN))
def test_no_claim_on_golden_inputs_breaks_the_interval_rules(case: str) -> None:
    claims = GOLDEN[case]()
    assert claims and claim_interval_problems(claims) == []


def test_the_rules_catch_a_two_seed_t_interval_in_a_chapter_claim() -> None:
    # the check can fail: chapter 05's change at 3 seeds, had it kept its t-interval
    claim = ch05.check(ch05.changes_table(ch05.GOOD), ch05.matched_table(None))[0]
    claim.ci, claim.extra = (-0.03, -0.01), {**claim.extra, "ci_df": 2}
    assert claim_interval_problems([claim])[0].startswith(f"{claim.claim_id}: Student-t interval")


@pytest.mark.skipif(not (QUICK_RESULTS / "claims").is_dir(),
                    reason="no quick-profile claims here: execute the chapters first")
def test_no_claim_of_the_quick_profile_breaks_the_interval_rules() -> None:
    claims = [claim for _, claim in read_claim_objects(QUICK_RESULTS)]
    problems = claim_interval_problems(claims)
    assert problems == [], pd.Series(problems).to_string()
