"""A power loss may undo a receive whose commit had no fsync of its own (receives are leases: losing one only makes the
message deliverable again). The receipt handed out before the loss must then never touch the message once it was
received again: simulated here by putting back, after the receive, a consistent copy of the database taken before it
(`spool backup`), as if the receive had never reached the disk."""
import shutil
import signal
import subprocess

import pytest

from conftest import SpoolProcess, make_client


def lose_commits_since(server: SpoolProcess, backup_dir):
    """Kills the server and puts the copy back in place of its database (the WAL and its index go with the loss)."""
    server.stop(signal.SIGKILL)
    database = server.data_dir / "spool.sqlite"
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            path.unlink()
    shutil.copyfile(backup_dir / "spool.sqlite", database)


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_a_receipt_from_before_a_power_loss_never_touches_the_message_received_again(binary, tmp_path, durability):
    server = SpoolProcess(binary, tmp_path / "data", extra_env={"SPOOL_DURABILITY": durability})
    server.start()
    try:
        sqs = make_client(server.endpoint)
        url = sqs.create_queue(QueueName="fenced", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        sent = sqs.send_message(QueueUrl=url, MessageBody="only")["MessageId"]
        made = subprocess.run([str(binary), "backup", "--data-dir", str(server.data_dir), str(tmp_path / "before")],
                              capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        stale = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        assert stale["MessageId"] == sent

        lose_commits_since(server, tmp_path / "before")
        server.start()
        sqs = make_client(server.endpoint)
        current = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        assert current["MessageId"] == sent
        assert current["Attributes"]["ApproximateReceiveCount"] == "1", "the first receive was lost with its commit"
        assert current["ReceiptHandle"] != stale["ReceiptHandle"]

        # As on AWS, a delete or a visibility change with an outdated receipt succeeds and changes nothing.
        sqs.delete_message(QueueUrl=url, ReceiptHandle=stale["ReceiptHandle"])
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=stale["ReceiptHandle"], VisibilityTimeout=0)
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1"), \
            "the new holder still has the message, still invisible"

        sqs.delete_message(QueueUrl=url, ReceiptHandle=current["ReceiptHandle"])
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    finally:
        server.stop()


def test_a_receipt_whose_receive_reached_the_disk_still_deletes_after_an_unclean_stop(binary, tmp_path):
    server = SpoolProcess(binary, tmp_path / "data")
    server.start()
    try:
        sqs = make_client(server.endpoint)
        url = sqs.create_queue(QueueName="kept", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="only")
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        made = subprocess.run([str(binary), "backup", "--data-dir", str(server.data_dir), str(tmp_path / "after")],
                              capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        lose_commits_since(server, tmp_path / "after")
        server.start()
        sqs = make_client(server.endpoint)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=received["ReceiptHandle"])
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    finally:
        server.stop()
