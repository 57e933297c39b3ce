from hilbench.hashing.sha256d import sha256d
from hilbench.protocols.stratum import (
    StratumJob,
    build_header,
    coinbase_transaction,
    header_from_job,
    merkle_root,
    prevhash_to_header,
    prevhash_to_stratum,
    submit_params,
)


def cases(vectors):
    return {c["name"]: c for c in vectors["stratum_cases"]}


def test_coinbase_assembly(bitcoin_vectors):
    case = cases(bitcoin_vectors)["coinbase assembly"]
    tx = coinbase_transaction(case["coinbase1"], case["extranonce1"], case["extranonce2"], case["coinbase2"])
    assert tx.hex() == case["coinbase_tx_hex"]
    assert sha256d(tx).hex() == case["coinbase_dsha256_internal"]


def test_merkle_root_from_branch(bitcoin_vectors):
    case = cases(bitcoin_vectors)["merkle root from coinbase + 12 branches"]
    tx = coinbase_transaction(case["coinbase1"], case["extranonce1"], case["extranonce2"], case["coinbase2"])
    root = merkle_root(tx, case["merkle_branch"])
    assert root.hex() == case["merkle_root_internal_hex"]
    assert root[::-1].hex() == case["merkle_root_display_hex"]


def test_prevhash_word_order(bitcoin_vectors):
    case = cases(bitcoin_vectors)["stratum prevhash word order"]
    assert prevhash_to_header(case["prevhash_stratum"]).hex() == case["prevhash_header_bytes"]
    assert prevhash_to_stratum(bytes.fromhex(case["prevhash_header_bytes"])) == case["prevhash_stratum"]


def test_header_assembly_reproduces_real_blocks(bitcoin_vectors):
    for block in bitcoin_vectors["blocks"]:
        header = build_header(
            block["version"],
            bytes.fromhex(block["prev_block_hash"])[::-1],
            bytes.fromhex(block["merkle_root"])[::-1],
            block["time"],
            int(block["bits"], 16),
            block["nonce"],
        )
        assert header.hex() == block["header_hex"]


def test_notify_to_header_and_submit():
    block_prev = bytes(range(32))
    job = StratumJob.from_notify(
        ["4f", prevhash_to_stratum(block_prev), "01", "02", [], "20000000", "1705dd01", "6553f100", True]
    )
    header = header_from_job(job, "aa", "bb", version=0x20002000)
    assert header[4:36] == block_prev
    assert header[36:68] == sha256d(bytes.fromhex("01aabb02"))
    assert header[:4] == (0x20002000).to_bytes(4, "little")
    params = submit_params("w", job, "bb", job.ntime, 0x1234, 0x20002000)
    assert params == ["w", "4f", "bb", "6553f100", "00001234", "00002000"]
