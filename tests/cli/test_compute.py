"""``studio compute create|list|show|delete``: a slurm target made from the command
line, read back, refused settings with exit status 1 and nothing stored."""


def test_create_show_list_delete_a_slurm_target(cli):
    made = cli(
        "compute", "create", "hpc", "--kind", "slurm", "--partition", "debug",
        "--time-limit", "02:00:00", "--gres", "gpu:1", "--sbatch-arg=--qos=high",
    ).json()  # fmt: skip
    assert made["kind"] == "slurm"
    assert made["slurm"] == {
        "partition": "debug",
        "account": None,
        "time_limit": "02:00:00",
        "gres": "gpu:1",
        "extra_sbatch_args": ["--qos=high"],
    }
    assert cli("compute", "show", "hpc").json()["slurm"]["partition"] == "debug"
    listed = cli("compute", "list").json()
    assert [(t["name"], t["kind"]) for t in listed] == [("local", "local"), ("hpc", "slurm")]
    table = cli("compute", "list", "-o", "table")
    assert "hpc" in table.out and "partition=debug" in table.out
    assert cli("compute", "delete", "hpc").json() == {"name": "hpc", "deleted": True}
    assert [t["name"] for t in cli("compute", "list").json()] == ["local"]


def test_wrong_settings_fail_with_the_field_and_store_nothing(cli):
    bad = cli("compute", "create", "hpc", "--kind", "slurm", "--sbatch-arg=--wrap=hostname")
    assert bad.code == 1 and "--wrap is refused" in bad.err
    bad = cli("compute", "create", "hpc", "--kind", "slurm", "--time-limit", "tomorrow")
    assert bad.code == 1 and "time_limit" in bad.err
    usage = cli("compute", "create", "hpc", "--partition", "debug")
    assert usage.code == 2 and "--kind slurm" in usage.err
    assert cli("compute", "show", "hpc").code == 1
    assert [t["name"] for t in cli("compute", "list").json()] == ["local"]


def test_a_queue_target(cli):
    made = cli("compute", "create", "gpu-box", "--capacity", "2").json()
    assert (made["kind"], made["capacity"]) == ("queue", 2)
    assert cli("compute", "delete", "nowhere").code == 1
