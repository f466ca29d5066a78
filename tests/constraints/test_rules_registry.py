"""constraints.all_rules: every rule of domain.md once, hard exactly for H*, each with a test file."""

from pathlib import Path

from constraints import all_rules, hard_rules, soft_rules
from planner.domain import RuleSettings

RULES = all_rules(RuleSettings())
HARD_IDS = [f"H{i}" for i in range(1, 11)]
SOFT_IDS = ["T1", "T2", "T3", "T4", "S1", "S2", "S3", "S4", "S5"]
HERE = Path(__file__).parent


def module_of(rule) -> str:
    return type(rule).__module__.rsplit(".", 1)[-1]


def test_every_rule_id_appears_exactly_once():
    names = [rule.name for rule in RULES]
    assert sorted(names) == sorted(HARD_IDS + SOFT_IDS)
    assert len(names) == len(set(names))


def test_hard_rules_are_exactly_the_h_rules():
    assert sorted(r.name for r in RULES if r.hard) == sorted(HARD_IDS)
    assert sorted(r.name for r in RULES if not r.hard) == sorted(SOFT_IDS)


def test_hard_rules_and_soft_rules_split_all_rules_by_their_hard_flag():
    settings = RuleSettings()
    assert all(rule.hard for rule in hard_rules(settings))
    assert not any(rule.hard for rule in soft_rules(settings))
    assert len(hard_rules(settings)) + len(soft_rules(settings)) == len(RULES)


def test_every_rule_lives_in_a_module_named_after_its_id():
    for rule in RULES:
        assert module_of(rule).startswith(rule.name.lower() + "_"), rule.name


def test_every_rule_has_a_test_file_named_after_its_module():
    missing = [module_of(r) for r in RULES if not (HERE / f"test_{module_of(r)}.py").is_file()]
    assert missing == []


def test_every_rule_has_a_title():
    assert all(rule.title for rule in RULES)
