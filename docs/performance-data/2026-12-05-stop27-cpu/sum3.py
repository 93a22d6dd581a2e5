# Moved to benchmarks/scripts/ab-summary.py (README there): `sum3.py ramp1,ramp2 base main off` is
# `ab-summary.py --runs 'ramp1/{build}-r?.json,ramp2/{build}-r?.json' --at 2000,3000 --digits 3 base main off`,
# which this pointer runs.
import os, subprocess, sys
dirs, builds = sys.argv[1].split(','), sys.argv[2:]
script = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'benchmarks', 'scripts', 'ab-summary.py')
sys.exit(subprocess.call([sys.executable, script, '--runs', ','.join(f'{d}/{{build}}-r?.json' for d in dirs), '--at', '2000,3000', '--digits', '3', *builds]))
