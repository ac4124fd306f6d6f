// Checks a WACZ anonymous signature the way wabac.js (ReplayWeb.page)
// does: import signedData.publicKey as SPKI ECDSA P-384 and verify the
// raw r||s signature with SHA-256 over the UTF-8 bytes of the hash string.
// Also checks that the hash matches datapackage.json. Exit 1 on failure.
// usage: node verify-wacz-sig.mjs datapackage.json datapackage-digest.json
import { readFileSync } from "node:fs";
import { webcrypto, createHash } from "node:crypto";

const [dpPath, digestPath] = process.argv.slice(2);
const dp = readFileSync(dpPath);
const digest = JSON.parse(readFileSync(digestPath, "utf8"));
const hash = "sha256:" + createHash("sha256").update(dp).digest("hex");
if (digest.hash !== hash) {
  console.error(`datapackage.json hash ${hash}, digest file says ${digest.hash}`);
  process.exit(1);
}
const sd = digest.signedData;
if (!sd || sd.hash !== hash) {
  console.error("no signedData for this hash");
  process.exit(1);
}
const key = await webcrypto.subtle.importKey(
  "spki", Buffer.from(sd.publicKey, "base64"),
  { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]);
const ok = await webcrypto.subtle.verify(
  { name: "ECDSA", hash: "SHA-256" }, key,
  Buffer.from(sd.signature, "base64"), new TextEncoder().encode(sd.hash));
if (!ok) {
  console.error("signature does not verify");
  process.exit(1);
}
console.log("signature ok");
