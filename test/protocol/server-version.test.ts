/**
 * @module
 * The supported server range, pure: parsing what servers report, semver order (a pre-release before its
 * release), the 2.12 floor and the feature table, and the errors that name the version, the floor and the fix.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  atLeast,
  checkServerFeature,
  checkServerVersion,
  compareServerVersions,
  parseServerVersion,
  SERVER_FEATURES,
  SERVER_FLOOR,
  UnsupportedServerError,
} from "../../shared/protocol/server-version.ts";

void describe("parseServerVersion", () => {
  const cases: [string | undefined, ReturnType<typeof parseServerVersion>][] = [
    ["2.15.1", { major: 2, minor: 15, patch: 1, prerelease: [] }],
    ["v2.15.1", { major: 2, minor: 15, patch: 1, prerelease: [] }],
    [" 2.10.27\n", { major: 2, minor: 10, patch: 27, prerelease: [] }],
    ["2.12.0-RC.1", { major: 2, minor: 12, patch: 0, prerelease: ["RC", 1] }],
    ["2.11.0-beta.2+linux", { major: 2, minor: 11, patch: 0, prerelease: ["beta", 2] }],
    ["2.9.10", { major: 2, minor: 9, patch: 10, prerelease: [] }],
    ["", null],
    [undefined, null],
    ["2.15", null],
    ["latest", null],
    ["2.15.1.4", null],
    ["nats-server: v2.15.1", null],
    ["2.x.1", null],
    ["2.15.1-", null],
  ];
  for (const [text, want] of cases) {
    void test(`${JSON.stringify(text)} → ${want ? JSON.stringify(want) : "null"}`, () => {
      assert.deepEqual(parseServerVersion(text), want);
    });
  }
});

void describe("compareServerVersions", () => {
  // Each row: a < b.
  const ascending: [string, string][] = [
    ["2.9.10", "2.10.0"],
    ["2.10.27", "2.12.0"],
    ["2.12.0-RC.1", "2.12.0"],
    ["2.12.0-RC.1", "2.12.0-RC.2"],
    ["2.12.0-RC.2", "2.12.0-RC.10"],
    ["2.12.0-1", "2.12.0-RC"],
    ["2.12.0-RC", "2.12.0-RC.1"],
    ["2.12.0", "2.12.1"],
    ["2.15.1", "3.0.0"],
  ];
  for (const [a, b] of ascending) {
    void test(`${a} < ${b}`, () => {
      const [x, y] = [parseServerVersion(a)!, parseServerVersion(b)!];
      assert.equal(compareServerVersions(x, y), -1);
      assert.equal(compareServerVersions(y, x), 1);
      assert.equal(compareServerVersions(x, x), 0);
    });
  }
  void test("build metadata does not order", () => {
    assert.equal(compareServerVersions(parseServerVersion("2.12.0+a")!, parseServerVersion("2.12.0")!), 0);
  });
});

void describe("the floor", () => {
  const cases: [string | undefined, boolean][] = [
    ["2.15.1", true],
    ["2.12.0", true],
    ["2.14.0-RC.1", true],
    ["3.0.0", true],
    ["2.12.0-RC.1", false],
    ["2.11.9", false],
    ["2.10.27", false],
    ["2.9.10", false],
    ["garbage", false],
    ["", false],
    [undefined, false],
  ];
  for (const [version, supported] of cases) {
    void test(`${JSON.stringify(version)} is ${supported ? "supported" : "refused"}`, () => {
      const err = checkServerVersion(version);
      assert.equal(err === null, supported);
      if (!err) return;
      assert.ok(err instanceof UnsupportedServerError);
      assert.equal(err.code, "UNSUPPORTED_SERVER");
      assert.equal(err.retryable, false);
      assert.deepEqual(err.details, { server: version ?? null, needs: SERVER_FLOOR });
      assert.match(err.message, /needs nats-server 2\.12 or newer/);
      assert.match(err.message, /brew install nats-server/);
      assert.match(err.message, /nats:2\.15-alpine/);
      assert.match(err.message, /Helm chart/);
      assert.match(err.message, /scripts\/fetch-nats-server\.sh/);
      assert.match(err.message, /too old on Debian stable/);
      if (version && parseServerVersion(version))
        assert.match(err.message, new RegExp(`nats-server ${version} `));
    });
  }
  void test("an unreadable version is named as such", () => {
    assert.match(checkServerVersion("garbage")!.message, /unreadable version "garbage"/);
    assert.match(checkServerVersion(undefined)!.message, /of unknown version/);
  });
});

void describe("feature gates", () => {
  void test("every feature needs more than the floor (the floor covers the rest)", () => {
    for (const [feature, needs] of Object.entries(SERVER_FEATURES)) {
      assert.ok(atLeast(needs, SERVER_FLOOR) && (needs as string) !== SERVER_FLOOR, `${feature}: ${needs}`);
    }
  });
  const cases: [string, keyof typeof SERVER_FEATURES, boolean][] = [
    ["2.14.0", "recurring schedules", true],
    ["2.15.1", "fast batch publish", true],
    ["2.12.7", "recurring schedules", false],
    ["2.14.0-RC.1", "fast batch publish", false],
    ["garbage", "consumer reset", false],
  ];
  for (const [version, feature, has] of cases) {
    void test(`${version} ${has ? "has" : "lacks"} ${feature}`, () => {
      const err = checkServerFeature(version, feature);
      assert.equal(err === null, has);
      if (!err) return;
      assert.equal(err.code, "UNSUPPORTED_SERVER");
      assert.match(err.message, new RegExp(`"${feature}" needs nats-server ${SERVER_FEATURES[feature]}`));
      assert.match(err.message, new RegExp(`this server is .*${version}`));
      assert.deepEqual(err.details, { server: version, needs: SERVER_FEATURES[feature], feature });
    });
  }
  void test("atLeast refuses a malformed minimum instead of answering", () => {
    assert.throws(() => atLeast("2.15.1", "2.x"), RangeError);
  });
});
