#!/usr/bin/env bash
# Zero-shot accuracy of a model on a folder written by draw_pil_shapes.py (or make-shapes' heldout split):
#   samples/model/other-renderer/evaluate.sh MODEL_DIR PICTURE_DIR [visiontower arguments, e.g. --backend onnx]
# Labels are every "colour shape" pair in the folder's captions.jsonl, prompts "a {colour shape}".
set -euo pipefail
model=$1
dir=$2
shift 2
root=$(cd "$(dirname "$0")/../../.." && pwd)
labels=$(python3 -c 'import json,sys
seen=[]
for l in open(sys.argv[1]):
    o=json.loads(l); k=o["color"]+" "+o["shape"]
    if k not in seen: seen.append(k)
print(",".join(seen))' "$dir/captions.jsonl")
args=$(mktemp)
trap 'rm -f "$args"' EXIT
python3 -c 'import json,sys,os
for l in open(sys.argv[1]): print(os.path.join(sys.argv[2], json.loads(l)["image"]))' "$dir/captions.jsonl" "$dir" > "$args"
"$root/visiontower" classify --model "$model" --labels "$labels" --template "a {}" --top 1 --json "$@" "@$args" \
  | python3 -c 'import json,sys
doc=json.load(sys.stdin); truth={}
for l in open(sys.argv[1]):
    o=json.loads(l); truth[o["image"]]=o["color"]+" "+o["shape"]
ok=sum(1 for r in doc["results"] if r["top"][0]["label"]==truth[r["image"].split("/")[-1]])
n=len(doc["results"])
print("%d/%d = %.1f%% over %d labels" % (ok, n, 100.0*ok/n, len(set(truth.values()))))' "$dir/captions.jsonl"
