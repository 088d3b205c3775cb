"""Genomics settings: off by default; when on, the network, results bucket and the four images are required."""
import pytest

from components.settings import GenomicsImages, SettingsError, load

IMAGES = {"isaac": "r/isaac:1", "strelka": "r/strelka:1", "snpeff": "r/snpeff:1", "samtoolsStats": "r/samtools:1"}
ENABLED = {"enabled": True, "subnetIds": ["subnet-0a1b"], "securityGroupIds": ["sg-0a1b"],
           "resultsBucket": "genomics-results", "images": IMAGES}


def settings(genomics):
    return load({"role": "primary", "drRegion": "us-east-2", "snapshots": {"retain": 3}, "genomics": genomics},
                "us-west-2").genomics


def test_off_unless_enabled_and_defaults_when_on():
    assert settings(None).enabled is False
    on = settings(ENABLED)
    assert (on.enabled, on.max_vcpus, on.instance_types, on.on_demand_fallback, on.scratch_volume_gib,
            on.max_concurrent_samples, on.tolerated_failed_samples_percent, on.input_buckets) == (
        True, 256, ("optimal",), False, 500, 10, 0, ())
    assert on.images == GenomicsImages(isaac="r/isaac:1", strelka="r/strelka:1", snpeff="r/snpeff:1",
                                       samtools_stats="r/samtools:1")


@pytest.mark.parametrize("change, message", [
    ({"subnetIds": []}, "opsflows:genomics.subnetIds: missing; required when genomics is enabled"),
    ({"securityGroupIds": []}, "opsflows:genomics.securityGroupIds: missing; required when genomics is enabled"),
    ({"resultsBucket": None}, "opsflows:genomics.resultsBucket: missing; required when genomics is enabled"),
    ({"images": {**IMAGES, "strelka": None}}, "opsflows:genomics.images.strelka: missing; required when genomics "
                                              "is enabled: the container image URI"),
    ({"images": {**IMAGES, "bwa": "r/bwa"}}, "opsflows:genomics.images.bwa: unknown key"),
    ({"maxVcpus": 16}, "opsflows:genomics.maxVcpus: got 16; must be an integer >= 32"),
    ({"subnetIds": ["vpc-0a1b"]}, "opsflows:genomics.subnetIds: got ['vpc-0a1b']; must be a list of subnet ids"),
    ({"maxConcurrentSamples": 0}, "opsflows:genomics.maxConcurrentSamples: got 0"),
    ({"maxConcurrentSamples": 10_001}, "opsflows:genomics.maxConcurrentSamples: got 10001; must be an integer >= 1 "
                                       "and <= 10000"),
    ({"toleratedFailedSamplesPercent": 101}, "opsflows:genomics.toleratedFailedSamplesPercent: got 101; must be a "
                                             "number from 0 to 100"),
    ({"toleratedFailedSamplesPercent": "5%"}, "opsflows:genomics.toleratedFailedSamplesPercent: got '5%'"),
    ({"toleratedFailedSamplesPercent": True}, "opsflows:genomics.toleratedFailedSamplesPercent: got True"),
])
def test_bad_genomics_config_is_named(change, message):
    with pytest.raises(SettingsError) as raised:
        settings({**ENABLED, **change})
    assert message in str(raised.value)


def test_a_cohort_may_run_10000_samples_at_once_and_tolerate_a_percentage_of_failures():
    on = settings({**ENABLED, "maxConcurrentSamples": 10_000, "toleratedFailedSamplesPercent": 2.5})
    assert (on.max_concurrent_samples, on.tolerated_failed_samples_percent) == (10_000, 2.5)


def test_disabled_pipeline_needs_nothing():
    assert settings({"enabled": False, "maxVcpus": 64}).max_vcpus == 64
