#!/bin/sh
# Refresh static/vendor/ from the pinned npm packages (package.json + package-lock.json).
# Run from anywhere: sh static/refresh_vendor.sh   (needs node + npm and the npm registry)
# Only the files the pages load are copied, each package with its licence.
set -eu
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
rm -rf vendor
mkdir -p vendor/leaflet/images vendor/leaflet-draw/images

cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css vendor/leaflet/
cp node_modules/leaflet/dist/images/*.png vendor/leaflet/images/
cp node_modules/leaflet/LICENSE vendor/leaflet/LICENSE
# the source map is not shipped: drop its reference so devtools do not request it
sed -i "/sourceMappingURL/d" vendor/leaflet/leaflet.js
node -p 'require("./node_modules/leaflet/package.json").version' > vendor/leaflet/VERSION

cp node_modules/leaflet-draw/dist/leaflet.draw.js node_modules/leaflet-draw/dist/leaflet.draw.css vendor/leaflet-draw/
cp node_modules/leaflet-draw/dist/images/spritesheet.png node_modules/leaflet-draw/dist/images/spritesheet-2x.png \
   node_modules/leaflet-draw/dist/images/spritesheet.svg vendor/leaflet-draw/images/
node -p 'require("./node_modules/leaflet-draw/package.json").version' > vendor/leaflet-draw/VERSION
# The npm package of leaflet-draw declares "license": "MIT" but ships no licence file;
# this is the upstream MIT-LICENSE.md (github.com/Leaflet/Leaflet.draw).
cat > vendor/leaflet-draw/LICENSE <<'LICENSE'
Copyright 2012-2016 Jacob Toye and Leaflet

Permission is hereby granted, free of charge, to any person obtaining
a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to
the following conditions:

The above copyright notice and this permission notice shall be
included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
LICENSE
# leaflet.vectorgrid (issue 12: the tiled layers): the bundled build, which carries pbf,
# ieee754, vector-tile, point-geometry, topojson-client and whatwg-fetch; each one's licence ships.
# Its npm package has no licence file: the Beerware text is the one in its README ("Legalese").
mkdir -p vendor/leaflet.vectorgrid
cp node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js vendor/leaflet.vectorgrid/
sed -i "/sourceMappingURL/d" vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js
node -p 'require("./node_modules/leaflet.vectorgrid/package.json").version' > vendor/leaflet.vectorgrid/VERSION
{
  echo "leaflet.vectorgrid $(cat vendor/leaflet.vectorgrid/VERSION) (Ivan Sanchez Ortega), from its README:"
  sed -n '/THE BEER-WARE LICENSE/,/buy me a beer/p' node_modules/leaflet.vectorgrid/README.md
  for dep in pbf ieee754 vector-tile point-geometry topojson-client whatwg-fetch; do
    echo; echo "==== bundled: $dep $(node -p "require('./node_modules/$dep/package.json').version") ===="
    cat node_modules/$dep/LICENSE* 2>/dev/null || node -p "require('./node_modules/$dep/package.json').license"
  done
} > vendor/leaflet.vectorgrid/LICENSE
# node_modules/ is only the source of the copy: remove it so it never ships in the wheel
rm -rf node_modules
echo "vendor/ refreshed:"; find vendor -type f | sort
