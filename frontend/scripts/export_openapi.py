"""Write the backend's OpenAPI document (what /api/openapi.json serves) to a file, sorted.

Used by `npm run gen:api` / `check:api-types`. Builds the app in-process (no server, no database
connection: the document comes from the registered blueprints and schemas).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    out = Path(sys.argv[1])
    # Dummy settings are enough: nothing connects while the spec is built.
    os.environ.setdefault("APP_ENV", "development")
    os.environ.setdefault("DATABASE_URL", "postgresql://openapi@127.0.0.1:1/openapi")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from web import create_app
    from web.extensions import api

    app = create_app()
    with app.app_context():
        spec = api.spec.to_dict()
    out.write_text(json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
