// Mask codecs: COCO RLE (uncompressed and compressed string form), thresholding of probability maps,
// and small mask geometry helpers. Pure functions, no DOM.
//
// Conventions used everywhere in the frontend:
//   - a mask is a Uint8Array of length width*height, row-major (index = y * width + x), 1 = inside;
//   - a probability map is a Uint8Array of bytes p in 0..255 meaning probability p / 255;
//   - COCO RLE is {size: [height, width], counts}, counts run over pixels in COLUMN-major order
//     (down each column, then the next column), starting with a run of zeros (possibly 0).

/**
 * Encode a row-major binary mask as uncompressed COCO RLE.
 * @param {Uint8Array} mask length width*height, row-major, nonzero = inside
 * @param {number} width
 * @param {number} height
 * @returns {{size: [number, number], counts: number[]}} counts in column-major order
 */
export function encodeRle(mask, width, height) {
  checkDims(mask, width, height);
  const counts = [];
  let current = 0; // value of the run being counted (COCO starts with zeros)
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/**
 * Decode COCO RLE (counts as a list of ints or as COCO's compressed string) to a row-major mask.
 * @param {{size: [number, number], counts: number[]|string}} rle
 * @returns {{mask: Uint8Array, width: number, height: number}}
 */
export function decodeRle(rle) {
  if (!rle || !Array.isArray(rle.size) || rle.size.length !== 2) {
    throw new Error("RLE needs size: [height, width]");
  }
  const [height, width] = rle.size;
  const counts = typeof rle.counts === "string" ? countsFromString(rle.counts) : rle.counts;
  if (!Array.isArray(counts)) throw new Error("RLE counts must be a list of ints or a string");
  const total = width * height;
  const mask = new Uint8Array(total);
  let pos = 0;
  let value = 0;
  for (const n of counts) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`invalid RLE count ${n}`);
    if (pos + n > total) throw new Error("RLE counts exceed the mask size");
    if (value) {
      for (let i = pos; i < pos + n; i++) {
        // i is a column-major index: column = floor(i / height), row = i % height
        mask[(i % height) * width + Math.floor(i / height)] = 1;
      }
    }
    pos += n;
    value = 1 - value;
  }
  if (pos !== total) throw new Error(`RLE counts cover ${pos} pixels, expected ${total}`);
  return { mask, width, height };
}

/**
 * Parse COCO's compressed counts string (pycocotools rleFrString) into run lengths.
 * @param {string} s
 * @returns {number[]}
 */
export function countsFromString(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error("truncated RLE string");
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * Write run lengths as COCO's compressed counts string (pycocotools rleToString).
 * @param {number[]} counts
 * @returns {string}
 */
export function countsToString(counts) {
  let s = "";
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
    }
  }
  return s;
}

/**
 * Threshold a probability map: inside where p / 255 > threshold.
 * @param {Uint8Array} probs bytes 0..255
 * @param {number} threshold in [0, 1]
 * @returns {Uint8Array} mask of the same length
 */
export function thresholdProbs(probs, threshold) {
  if (!(threshold >= 0 && threshold <= 1)) throw new Error(`threshold must be in [0, 1], got ${threshold}`);
  const cut = threshold * 255;
  const out = new Uint8Array(probs.length);
  for (let i = 0; i < probs.length; i++) out[i] = probs[i] > cut ? 1 : 0;
  return out;
}

/**
 * Place an ROI probability crop into a full-image mask, thresholded (outside the ROI = 0).
 * @param {{roi: {x: number, y: number, width: number, height: number}, data: Uint8Array}} prob
 *        data is the ROI crop, row-major, roi.width*roi.height bytes
 * @param {number} width image width
 * @param {number} height image height
 * @param {number} threshold in [0, 1]
 * @returns {Uint8Array} full-image mask, row-major
 */
export function roiProbsToMask(prob, width, height, threshold) {
  const { roi, data } = prob;
  if (data.length !== roi.width * roi.height) {
    throw new Error(`ROI data has ${data.length} bytes, expected ${roi.width * roi.height}`);
  }
  const cut = threshold * 255;
  const mask = new Uint8Array(width * height);
  const x0 = Math.max(0, roi.x);
  const y0 = Math.max(0, roi.y);
  const x1 = Math.min(width, roi.x + roi.width);
  const y1 = Math.min(height, roi.y + roi.height);
  for (let y = y0; y < y1; y++) {
    const src = (y - roi.y) * roi.width - roi.x;
    const dst = y * width;
    for (let x = x0; x < x1; x++) mask[dst + x] = data[src + x] > cut ? 1 : 0;
  }
  return mask;
}

/**
 * Number of inside pixels.
 * @param {Uint8Array} mask
 * @returns {number}
 */
export function maskArea(mask) {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}

/**
 * COCO bbox [x, y, width, height] of the inside pixels, or null for an empty mask.
 * @param {Uint8Array} mask row-major
 * @param {number} width
 * @param {number} height
 * @returns {[number, number, number, number]|null}
 */
export function maskBbox(mask, width, height) {
  checkDims(mask, width, height);
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

function checkDims(mask, width, height) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`invalid mask size ${width}x${height}`);
  }
  if (!mask || mask.length !== width * height) {
    throw new Error(`mask has ${mask ? mask.length : 0} pixels, expected ${width * height}`);
  }
}

/**
 * The boundary of a mask: inside pixels with at least one 4-neighbour outside (or on the image edge).
 * @param {Uint8Array} mask row-major width*height
 * @param {number} width
 * @param {number} height
 * @returns {Uint8Array} boundary mask, row-major
 */
export function maskBoundary(mask, width, height) {
  checkDims(mask, width, height);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
          !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width]) out[i] = 1;
    }
  }
  return out;
}
