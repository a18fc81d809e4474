"""Print, as a markdown table, every claim whose verdict differs between two results folders.

Usage: python tools/claims-diff.py OLD_RESULTS NEW_RESULTS (each a ``results/<profile>`` folder
holding ``claims/<chapter>.json``). The comparison is latentsep.claim_changes.verdict_changes.
"""

import sys

from latentsep.claim_changes import verdict_changes

if len(sys.argv) != 3:
    sys.exit(__doc__)
changes = verdict_changes(sys.argv[1], sys.argv[2])
print(changes.to_markdown(index=False) if len(changes) else "No verdict changed.")
