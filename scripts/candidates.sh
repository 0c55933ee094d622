# What the recipe searches (search-hour.sh, search-micro.sh) share; sourced, not run.
# Each search holds its candidates in CANDIDATES_TABLE, one "name | flags | TOML keys" line
# each; CANDIDATES (names) picks some of them.

# The table's lines as "name|flags|toml", the names picked by CANDIDATES (all without it).
candidates() {
    echo "$CANDIDATES_TABLE" | sed '/^\s*$/d' | while IFS='|' read -r name flags toml; do
        name=$(echo "$name" | xargs)
        if [ -n "${CANDIDATES:-}" ] && ! [[ " $CANDIDATES " == *" $name "* ]]; then continue; fi
        echo "$name|$flags|$toml"
    done
}

# The column of metrics.csv's last row named $2.
last_metric() {
    python3 - "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(rows[-1][sys.argv[2]])
EOF
}
