"""Move a live in-memory server's rooms and running games into liapstore.

    python examples/migrate_room_manager.py [URL] [--sketch]

The live server is tui_server.py's stand-in for the reference server as it
runs (an AsyncRoomManager whose rooms hold a GameStateMachine each), with a
room in every phase: waiting, redeal decisions half made, declaring, a turn
under way, the pause after a turn, scoring, and a finished game. ``--sketch``
uses room_manager.py's stand-in of DATABASE_SCHEMA.md's RoomManager instead;
the migrator picks the adapter that fits. A real server passes its own
manager, and nothing in it is changed.

A dry run shows the report first; the real run moves each room in its own
transaction. Every game then continues from the store exactly where it was,
is played to its end, and verifies. A second run skips every room.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import liapstore
from liapstore.migration import DataMigrator
from liapstore.simulate import play_on

args = [a for a in sys.argv[1:] if a != "--sketch"]
url = args[0] if args else "memory://"
if "--sketch" in sys.argv:
    from room_manager import sample_server
else:
    from tui_server import sample_server
manager = sample_server(seed=1)

with liapstore.connect(url) as store:
    print(DataMigrator(store).migrate_active_games(manager, dry_run=True))
    report = DataMigrator(store).migrate_active_games(manager)
    print(report)

    # The server now plays on from the store: finish each migrated game.
    for game_id in report.games:
        saved = store.load_game(game_id)
        if not saved.game.finished:
            game, actions = play_on(store, saved.game, saved.state, "after-migration")
            print(f"game {game_id}: {actions} more actions to its end")
        problems = store.verify_game(game_id)
        print(f"game {game_id}: verify -> {problems or 'intact'}")

    # Running the migration again changes nothing.
    again = DataMigrator(store).migrate_active_games(manager)
    print(f"second run: moved {again.rooms}, skipped {[code for code, _ in again.skipped]}")
