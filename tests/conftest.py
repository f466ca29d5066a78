import sys
from pathlib import Path

# tests import their shared helpers (factories, harness) by module name
sys.path.insert(0, str(Path(__file__).parent))
