"""Connect, record a game, read it back.

    python examples/quickstart.py [URL]      (default: a throwaway SQLite file)
"""
import sys
import tempfile

import liapstore
from liapstore.game import bots

url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/quickstart.db"
with liapstore.connect(url) as store:
    alice = store.create_player("alice", "Alice")
    others = [store.create_player(f"bot_{i}") for i in range(1, 4)]
    room = store.create_room("FRIDAY", "Friday night table", created_by=alice.id)
    game = store.start_game(room.id, [alice.id] + [p.id for p in others], bots=[1, 2, 3],
                            winning_score=20, max_rounds=5)

    # A real server records what its players do; here seeded bots play.
    for step, _, action, _ in bots.play_game(seed=42, winning_score=20, max_rounds=5):
        game = store.record_action(game.id, step, action)

    print(f"{game.version} actions recorded, phase {game.current_phase}")
    print("final scores:", game.final_scores["totals"])
    print("alice:", store.get_player(alice.id))
    for r in store.list_rounds(game.id):
        print(f"round {r.round_number}: x{r.multiplier} {r.round_data['scores']}")
    print("integrity check:", store.verify_game(game.id) or "intact")
