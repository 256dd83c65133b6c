// Validates Kubernetes manifests against the Kubernetes API's JSON schemas
// (kubernetes-models, which compiles them with ajv): node validate.mjs FILE...
// Every document of every file must be a known apiVersion/kind and valid.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

let bad = 0, n = 0;
for (const file of process.argv.slice(2)) {
	for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
		if (doc.errors.length) {
			console.log(`FAIL: ${file}: YAML: ${doc.errors[0].message}`);
			bad++;
			continue;
		}
		const obj = doc.toJS();
		if (!obj) continue;
		const where = `${file}: ${obj.kind} ${obj.metadata?.name}`;
		// "apps/v1" -> kubernetes-models/apps/v1, "v1" -> kubernetes-models/v1
		let mod;
		try {
			mod = await import(`kubernetes-models/${obj.apiVersion}`);
		} catch (e) {
			console.log(`FAIL: ${where}: unknown apiVersion ${obj.apiVersion}`);
			bad++;
			continue;
		}
		const Model = mod[obj.kind];
		if (!Model) {
			console.log(`FAIL: ${where}: unknown kind ${obj.kind} in ${obj.apiVersion}`);
			bad++;
			continue;
		}
		try {
			new Model(obj).validate();
			n++;
			console.log(`ok: ${where} is a valid ${obj.apiVersion} ${obj.kind}`);
		} catch (e) {
			console.log(`FAIL: ${where}: ${e.message}`);
			bad++;
		}
	}
}
process.exit(bad || !n ? 1 : 0);
