"""Move a live in-memory server's rooms and running games into liapstore.

    python examples/migrate_room_manager.py [URL]

The RoomManager here is the plain-Python stand-in from room_manager.py; a
real server passes its own. After the move, each game continues from the
store exactly where it was, and replay/verify cover it from that point on.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import liapstore
from liapstore.game import bots
from liapstore.migration import DataMigrator
from room_manager import sample_server

url = sys.argv[1] if len(sys.argv) > 1 else "memory://"
manager = sample_server(seed=1)

with liapstore.connect(url) as store:
    report = DataMigrator(store).migrate_active_games(manager)
    print(f"moved rooms {report.rooms}, {len(report.games)} running games, skipped {report.skipped}")

    # The server now plays on from the store: finish each migrated game.
    for saved in store.unfinished_games():
        game, state = saved.game, saved.state
        while state.phase != "GAME_OVER":
            action = bots.next_action(state, "after-migration", game.version + 1)
            game = store.record_action(game.id, game.version + 1, action)
            state = liapstore.game.rules.apply(state, action).state
        print(f"game {game.id}: {game.version} actions, verify -> {store.verify_game(game.id) or 'intact'}")

    # Running the migration again changes nothing.
    again = DataMigrator(store).migrate_active_games(manager)
    print(f"second run: moved {again.rooms}, skipped {[code for code, _ in again.skipped]}")
