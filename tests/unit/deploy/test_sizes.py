import pytest

from millicent.deploy.sizes import MB, PackageTooLarge, SizeLimits, SizeReport, check_limits


def _report() -> SizeReport:
    r = SizeReport()
    r.add("numpy 2.2.6", 40 * MB, 14 * MB)
    r.add("artifact kim", 3 * MB, 2 * MB)
    r.add("pack", 2 * MB, 1 * MB)
    r.add("pack", 1 * MB, 1 * MB)
    return r


def test_totals_and_table():
    r = _report()
    assert r.unzipped == 46 * MB and r.zipped == 18 * MB
    assert r.components["pack"].files == 2
    text = r.format(SizeLimits())
    lines = text.splitlines()
    assert lines[1].startswith("numpy 2.2.6")  # largest first
    assert "46.00 MB" in lines[-2] and "250.00 MB" in lines[-1] and "50.00 MB" in lines[-1]


def test_within_limits_passes():
    check_limits(_report(), SizeLimits())


def test_over_zipped_limit_names_the_biggest_component():
    with pytest.raises(PackageTooLarge) as err:
        check_limits(_report(), SizeLimits(max_zipped=10 * MB))
    msg = err.value.message
    assert "zipped size 18.00 MB is over the limit of 10.00 MB" in msg
    assert msg.index("numpy 2.2.6") < msg.index("artifact kim")
    assert "unzipped size" not in msg


def test_unzipped_limit_checked_before_the_zip_exists():
    with pytest.raises(PackageTooLarge, match=r"unzipped size 46\.00 MB"):
        check_limits(_report(), SizeLimits(max_unzipped=45 * MB, max_zipped=1), zipped_known=False)


def test_through_s3_only_the_unzipped_limit_applies():
    from millicent.deploy.sizes import S3_UPLOAD

    r = SizeReport()
    r.add("pack", 120 * MB, 60 * MB)  # over the direct-upload quota, within the unzipped one
    with pytest.raises(PackageTooLarge, match=r"over the limit of 50\.00 MB.*--via-s3"):
        check_limits(r, SizeLimits())
    check_limits(r, S3_UPLOAD)
    r.add("pack", 140 * MB, 70 * MB)
    with pytest.raises(PackageTooLarge, match=r"unzipped size 260\.00 MB") as err:
        check_limits(r, S3_UPLOAD)
    assert "--via-s3" not in err.value.message
