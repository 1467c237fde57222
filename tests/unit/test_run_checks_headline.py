"""How a run's checks read in `pmw run` and `pmw summary`: failed (ERROR), warned (WARN), not judged (a volume
check's cold start, WARN with judged false) and passed, each check in exactly one of them."""

from orchestration.run_records import check_judged, checks_failed, checks_headline, checks_not_judged, checks_warned


def _check(name: str, passed: bool, severity: str = "ERROR", judged: bool = True) -> dict:
    return {"asset": "a", "check": name, "passed": passed, "severity": severity, "description": name, "judged": judged}


def test_each_check_counts_once_and_a_cold_start_is_neither_a_pass_nor_a_warning():
    checks = [
        _check("gate", True),
        _check("test_warn", False, "WARN"),
        _check("gate_error", False),
        _check("fct_x_volume", False, "WARN", judged=False),
        _check("fct_y_volume", False, "WARN", judged=False),
    ]
    assert [c["check"] for c in checks_failed(checks)] == ["gate_error"]
    assert [c["check"] for c in checks_warned(checks)] == ["test_warn"]
    assert [c["check"] for c in checks_not_judged(checks)] == ["fct_x_volume", "fct_y_volume"]
    assert checks_headline(checks) == "1 passed, 1 failed, 1 warned, 2 not judged (cold start)"


def test_records_from_before_the_judged_field_read_as_judged():
    old = [{"asset": "a", "check": "c", "passed": False, "severity": "WARN", "description": "d"}]
    assert checks_warned(old) == old and checks_not_judged(old) == []
    assert checks_headline([_check("g", True)]) == "1 passed, 0 failed"


def test_a_check_judged_unless_its_metadata_status_says_cold_start():
    import dagster as dg

    def evaluation(metadata: dict) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(asset_key=dg.AssetKey("a"), check_name="c", passed=False, metadata=metadata)

    assert not check_judged(evaluation({"status": dg.MetadataValue.text("cold_start")}))
    assert check_judged(evaluation({"status": dg.MetadataValue.text("anomaly")}))
    assert check_judged(evaluation({}))


def test_a_pass_kept_on_a_mart_not_rebuilt_is_counted_apart_in_the_headline():
    import dagster as dg

    from orchestration.run_records import check_kept, materialised_headline

    kept = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("a"), check_name="c", passed=True, metadata={"status": dg.MetadataValue.text("kept")}
    )
    validated = dg.AssetCheckEvaluation(asset_key=dg.AssetKey("a"), check_name="c", passed=True, metadata={})
    assert check_kept(kept) and not check_kept(validated)
    checks = [_check("gate_a", True) | {"kept": True}, _check("gate_b", True), _check("gate_c", False)]
    assert checks_headline(checks) == (
        "2 passed (1 kept from the run that validated the same, not rebuilt, mart), 1 failed"
    )
    assert materialised_headline(["m1", "m2", "m3"], ["m2"]) == (
        "3 assets materialised (1 of them dbt models left as built, not rebuilt)"
    )
    assert materialised_headline(["m1"], []) == "1 assets materialised"
