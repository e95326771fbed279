"""The demo: the README's command runs, and every method's summary line prints."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from captum_spex.apps import demo

_RECOVERED = re.compile(r"recovered (\d+)/(\d+) planted terms, (\d+) spurious; (.*)")
_HELD_OUT = re.compile(r"held-out R² on 5,000 uniform masks \(noiseless truth\): (-?\d+\.\d+)")


def _summary(text: str) -> tuple[int, int, int, str, float]:
    found = _RECOVERED.search(text)
    held = _HELD_OUT.search(text)
    assert found is not None and held is not None, text
    recovered, planted, spurious = (int(found[i]) for i in (1, 2, 3))
    return recovered, planted, spurious, found[4], float(held[1])


def test_the_readme_command_runs_and_recovers_the_planted_function(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "`python -m captum_spex.demo` runs a planted 1,000-feature example" in readme
    done = subprocess.run(
        [sys.executable, "-m", "captum_spex.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "SPEX on 1000 features, 150 planted interactions, 10 dB noise" in out
    recovered, planted, spurious, fit, held_out = _summary(out)
    # the default method ("auto") makes no noise estimate; the line names its fit instead
    assert planted == 150 and recovered >= 140 and spurious <= 15, out
    assert "true noise sd" in fit and "estimated R²" in fit
    assert held_out > 0.95, out  # 0.9993 on the default planted function
    ranks = re.findall(r"^\s+(\d+)  \(", out, flags=re.MULTILINE)
    assert ranks == [str(i) for i in range(1, 11)]  # --top 10 rows


_SMALL = ["--n-features", "30", "--n-terms", "8", "--n-samples", "2000", "--top", "3"]


def test_the_spex_method_prints_its_noise_estimate(capsys):
    demo.main([*_SMALL, "--method", "spex"])
    out = capsys.readouterr().out
    recovered, planted, spurious, fit, held_out = _summary(out)
    match = re.fullmatch(r"noise sd estimate (\d+\.\d+) \(true (\d+\.\d+)\)", fit)
    assert match is not None, fit
    estimate, true = float(match[1]), float(match[2])
    assert abs(estimate - true) < 0.25 * true
    assert (recovered, planted) == (8, 8) and held_out > 0.95


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
@pytest.mark.parametrize(
    "argv,chosen",
    [
        # the default method; 2^8 <= n_samples: the exact transform, no noise estimate
        (["--n-features", "8", "--n-terms", "4", "--n-samples", "300"], "exact"),
        ([*_SMALL, "--method", "proxy"], "proxy"),
    ],
)
def test_the_other_methods_print_their_fit_not_a_noise_estimate(argv, chosen, capsys):
    demo.main([*argv, "--top", "3"])
    out = capsys.readouterr().out
    _, planted, _, fit, _ = _summary(out)
    assert planted == 4 if chosen == "exact" else planted == 8
    assert fit.startswith(chosen) and "noise sd estimate" not in fit
    assert re.search(r"estimated R² -?\d\.\d{3} \(true noise sd \d+\.\d{3}\)$", fit), fit


def test_fit_summary_without_any_fit_diagnostic():
    assert demo._fit_summary({}, 1.5) == "fit (true noise sd 1.500)"
    assert demo._fit_summary({"noise_sd": 0.25}, 0.3) == "noise sd estimate 0.250 (true 0.300)"
    # an estimate that is not a number (a method's placeholder) is not formatted as one
    text = demo._fit_summary({"noise_sd": None, "chosen": "trees", "r2_estimate": 0.5}, 1.0)
    assert text == "trees, estimated R² 0.500 (true noise sd 1.000)"


def test_an_unknown_method_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as err:
        demo.main(["--method", "nope"])
    assert err.value.code == 2 and "invalid choice" in capsys.readouterr().err
