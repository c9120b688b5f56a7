import { strict as assert } from "assert";
import { RefusedError } from "../../provider/host/errors";
import type { DaemonJsonBackup, ManagedKey } from "../../provider/resources/dockerStorageConfig/daemonJson";
import { managedValues, mergeDaemonJson, parseBackup, parseDaemonJson, previousValues, restoreDaemonJson, serializeBackup } from "../../provider/resources/dockerStorageConfig/daemonJson";

const PATH = "/etc/docker/daemon.json";

const want = (values: Partial<Record<ManagedKey, unknown>>): Record<ManagedKey, unknown> => ({ "storage-driver": undefined, "storage-opts": undefined, "data-root": undefined, ...values });
const OVERLAY_AT_SRV = want({ "storage-driver": "overlay2", "data-root": "/srv/docker" });

/** The daemon.json layout Docker's documentation and most installers write. */
const DOCUMENTED = `{
  "log-driver": "json-file",
  "log-opts": {
    "max-size": "10m",
    "max-file": "3"
  },
  "storage-driver": "vfs",
  "live-restore": true
}
`;

const backupOf = (text: string | undefined): DaemonJsonBackup => ({ existed: text !== undefined, content: text ?? "" });

describe("resources/daemonJson", () => {
    describe("parseDaemonJson", () => {
        it("reads the managed keys and leaves the others alone", () => {
            assert.deepEqual(managedValues(parseDaemonJson(DOCUMENTED, PATH)), { "storage-driver": "vfs" });
            assert.deepEqual(
                parseDaemonJson(DOCUMENTED, PATH).members.map((m) => m.key),
                ["log-driver", "log-opts", "storage-driver", "live-restore"],
            );
        });

        it("an empty file is an empty configuration, as Docker reads it", () => {
            assert.deepEqual(parseDaemonJson("", PATH).members, []);
            assert.deepEqual(parseDaemonJson(" \n", PATH).members, []);
        });

        it("invalid JSON is refused with the reason, never overwritten", () => {
            assert.throws(
                () => parseDaemonJson('{"log-level": "warn",}', PATH),
                (e: Error) => e instanceof RefusedError && /\/etc\/docker\/daemon\.json on the host is not valid JSON/.test(e.message) && /refusing to overwrite it/.test(e.message) && /Fix or remove the file by hand/.test(e.message),
            );
            assert.throws(() => mergeDaemonJson("{", OVERLAY_AT_SRV, PATH), RefusedError);
        });

        it("a JSON value that is not an object is refused", () => {
            assert.throws(() => parseDaemonJson('["storage-driver"]', PATH), /holds an array, not a JSON object/);
            assert.throws(() => parseDaemonJson("42", PATH), /holds 42, not a JSON object/);
        });

        it("a managed key set twice is refused: Docker's choice is not ours to guess", () => {
            assert.throws(() => parseDaemonJson('{"storage-driver":"vfs","storage-driver":"overlay2"}', PATH), /sets "storage-driver" twice/);
        });

        it("escapes, nested braces in strings and a byte order mark do not confuse the scanner", () => {
            const text = '\uFEFF{"labels":["a}b","c\\"]{"],"k\\u0065y":{"x":[1,{"y":"}"}]},"data-root":"/d"}';
            const doc = parseDaemonJson(text, PATH);
            assert.deepEqual(doc.members.map((m) => m.key), ["labels", "key", "data-root"]);
            assert.deepEqual(managedValues(doc), { "data-root": "/d" });
        });
    });

    describe("mergeDaemonJson", () => {
        it("keeps every other key, its order and its formatting; rewrites the managed one in place; appends the new one", () => {
            const merged = mergeDaemonJson(DOCUMENTED, OVERLAY_AT_SRV, PATH)!;
            assert.equal(
                merged,
                `{
  "log-driver": "json-file",
  "log-opts": {
    "max-size": "10m",
    "max-file": "3"
  },
  "storage-driver": "overlay2",
  "live-restore": true,
  "data-root": "/srv/docker"
}
`,
            );
        });

        it("keeps key order even for keys that look like numbers (JS objects would move them first)", () => {
            const merged = mergeDaemonJson('{"b":1,"10":2,"a":3}', want({ "storage-driver": "overlay2" }), PATH)!;
            assert.equal(merged, '{"b":1,"10":2,"a":3,"storage-driver":"overlay2"}');
        });

        it("follows the file's own style: one line stays one line, tabs stay tabs", () => {
            assert.equal(mergeDaemonJson('{"log-level":"warn"}', want({ "storage-driver": "overlay2" }), PATH), '{"log-level":"warn","storage-driver":"overlay2"}');
            assert.equal(mergeDaemonJson('{ "log-level": "warn" }', want({ "storage-driver": "overlay2" }), PATH), '{ "log-level": "warn", "storage-driver": "overlay2" }');
            assert.equal(
                mergeDaemonJson('{\n\t"log-level": "warn"\n}\n', want({ "storage-driver": "overlay2", "storage-opts": ["overlay2.size=1G"] }), PATH),
                '{\n\t"log-level": "warn",\n\t"storage-driver": "overlay2",\n\t"storage-opts": [\n\t\t"overlay2.size=1G"\n\t]\n}\n',
            );
        });

        it("an absent, empty or {} file gets Docker's documented layout", () => {
            const expected = '{\n  "storage-driver": "overlay2",\n  "data-root": "/srv/docker"\n}\n';
            assert.equal(mergeDaemonJson(undefined, OVERLAY_AT_SRV, PATH), expected);
            assert.equal(mergeDaemonJson("", OVERLAY_AT_SRV, PATH), expected);
            assert.equal(mergeDaemonJson("{}\n", OVERLAY_AT_SRV, PATH), expected);
        });

        it("an unset input removes its key (the key is ours), with its separator", () => {
            assert.equal(mergeDaemonJson('{"data-root":"/old","log-level":"warn","storage-driver":"overlay2"}', want({ "storage-driver": "overlay2" }), PATH), '{"log-level":"warn","storage-driver":"overlay2"}');
            assert.equal(mergeDaemonJson('{\n  "log-level": "warn",\n  "storage-opts": ["a=b"]\n}\n', want({}), PATH), '{\n  "log-level": "warn"\n}\n');
            assert.equal(mergeDaemonJson('{"storage-driver":"vfs"}', want({}), PATH), "{}");
        });

        it("returns the very same text when nothing changes (spacing and all), so no write is planned", () => {
            const text = '{ "storage-driver" : "overlay2",  "data-root":"/srv/docker" }';
            assert.equal(mergeDaemonJson(text, OVERLAY_AT_SRV, PATH), text);
            assert.equal(mergeDaemonJson(undefined, want({}), PATH), undefined);
        });
    });

    describe("restoreDaemonJson", () => {
        const cases: Array<[string, string | undefined]> = [
            ["an absent file (removed again)", undefined],
            ["an empty file", ""],
            ["{}", "{}"],
            ["a file without the keys (they are removed again)", '{"log-level":"warn"}\n'],
            ["a file with the key set otherwise (the old value comes back)", DOCUMENTED],
            ["odd spacing and an array value", '{ "storage-opts" : [ "overlay2.override_kernel_check=true" ],\n"debug":true}'],
        ];
        for (const [name, before] of cases) {
            it(`round-trips ${name} byte for byte`, () => {
                const merged = mergeDaemonJson(before, want({ "storage-driver": "overlay2", "storage-opts": ["overlay2.size=2G"], "data-root": "/srv/docker" }), PATH);
                assert.notEqual(merged, before);
                assert.equal(restoreDaemonJson(merged, backupOf(before), PATH), before);
            });
        }

        it("keeps what others changed meanwhile and puts back only the managed keys", () => {
            const merged = mergeDaemonJson(DOCUMENTED, OVERLAY_AT_SRV, PATH)!;
            const edited = merged.replace('"live-restore": true', '"live-restore": false,\n  "debug": true');
            const restored = restoreDaemonJson(edited, backupOf(DOCUMENTED), PATH)!;
            assert.deepEqual(JSON.parse(restored), { "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" }, "storage-driver": "vfs", "live-restore": false, debug: true });
        });

        it("a file that did not exist stays only if others put keys in it meanwhile", () => {
            const merged = mergeDaemonJson(undefined, OVERLAY_AT_SRV, PATH)!;
            assert.equal(restoreDaemonJson(merged, backupOf(undefined), PATH), undefined);
            const withOther = merged.replace("{\n", '{\n  "debug": true,\n');
            assert.equal(restoreDaemonJson(withOther, backupOf(undefined), PATH), '{\n  "debug": true\n}\n');
        });

        it("a daemon.json removed by hand meanwhile gets only the old managed keys back", () => {
            assert.equal(restoreDaemonJson(undefined, backupOf('{"storage-driver":"vfs"}'), PATH), '{"storage-driver":"vfs"}');
            assert.equal(restoreDaemonJson(undefined, backupOf(undefined), PATH), undefined);
        });
    });

    describe("backup file", () => {
        it("round-trips through its JSON form, which a human can read and restore from", () => {
            for (const backup of [backupOf(DOCUMENTED), backupOf(undefined), { ...backupOf(""), mode: "600" }]) {
                const text = serializeBackup(PATH, backup);
                assert.match(text, /"comment": "Written by pulumi-zfs-docker/);
                assert.deepEqual(parseBackup(text, `${PATH}.bak`), { mode: undefined, ...backup });
            }
        });

        it("previous values are the managed keys of the old file", () => {
            assert.deepEqual(previousValues(backupOf(DOCUMENTED), PATH), { "storage-driver": "vfs" });
            assert.deepEqual(previousValues(backupOf(undefined), PATH), {});
        });

        it("a backup that is not ours is refused with what to do", () => {
            assert.throws(() => parseBackup("{}", "/etc/docker/daemon.json.pulumi-zfs-docker.bak"), /is not a backup pulumi-zfs-docker can read.*Restore daemon\.json by hand/);
            assert.throws(() => parseBackup("not json", "/x.bak"), RefusedError);
        });
    });
});
