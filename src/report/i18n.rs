//! The words of the human-facing views (text, HTML, Markdown), one table per
//! language. Renderers take a [`Lang`] and read every heading, label and
//! verdict name from its [`Strings`]; nothing language-specific is written
//! inline in a renderer, so a new language is one more table here.
//!
//! What comes from data is not translated here: clause and rule titles have
//! their own `title_zh` in the rule and standard files (the report carries
//! both), and the reasons the conformance stage writes are English
//! sentences in the model, shown as they are.

use crate::checks::rule::Severity;
use crate::standards::{Cause, Verdict};

/// A report language (`--lang`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The BCP 47 tag, as given to `--lang` and written in HTML's `lang`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }

    /// Picks the title in this language: `zh` in Chinese when the data has
    /// one, else the English `en`.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::ZhCn if !zh.trim().is_empty() => zh,
            _ => en,
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "en" => Ok(Lang::En),
            "zh-CN" | "zh-cn" | "zh" => Ok(Lang::ZhCn),
            _ => Err(format!("unknown language `{s}` (en or zh-CN)")),
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every fixed word of the human views in one language.
pub struct Strings {
    /// PASS, FAIL, INCONCLUSIVE, OPEN, NOT-APPLICABLE (in [`Verdict::ALL`] order).
    pub verdicts: [&'static str; 5],
    /// info … critical (in [`Severity::ALL`] order).
    pub severities: [&'static str; 5],
    /// pass, fail, analysis-gap.
    pub statuses: [&'static str; 3],
    pub certificate: &'static str,
    pub outcome: &'static str,
    pub exit: &'static str,
    pub identity: &'static str,
    pub image: &'static str,
    pub image_sha256: &'static str,
    pub size: &'static str,
    pub bytes: &'static str,
    pub tool: &'static str,
    pub rules_digest: &'static str,
    pub profile: &'static str,
    pub declaration: &'static str,
    pub no_declaration: &'static str,
    pub device: &'static str,
    pub manufacturer: &'static str,
    pub model: &'static str,
    pub hardware_version: &'static str,
    pub firmware_version: &'static str,
    pub vuln_snapshot: &'static str,
    pub none: &'static str,
    pub standards: &'static str,
    pub standard: &'static str,
    pub verdict: &'static str,
    pub firmware_verdict: &'static str,
    pub clauses: &'static str,
    pub clause: &'static str,
    pub title: &'static str,
    pub units: &'static str,
    pub unit: &'static str,
    pub kind: &'static str,
    pub scope: &'static str,
    pub rules: &'static str,
    pub cause: &'static str,
    pub reasons: &'static str,
    pub evidence: &'static str,
    pub findings: &'static str,
    pub finding: &'static str,
    pub severity: &'static str,
    pub path: &'static str,
    pub container: &'static str,
    pub line: &'static str,
    pub offset: &'static str,
    pub file_sha256: &'static str,
    pub secret: &'static str,
    pub preview: &'static str,
    pub custom_rule: &'static str,
    pub components: &'static str,
    pub component: &'static str,
    pub version: &'static str,
    pub vulnerabilities: &'static str,
    pub end_of_life: &'static str,
    pub unpack: &'static str,
    pub complete: &'static str,
    pub incomplete: &'static str,
    pub format: &'static str,
    pub status: &'static str,
    pub description: &'static str,
    pub gaps: &'static str,
    pub filesystems: &'static str,
    pub files: &'static str,
    pub root_filesystem: &'static str,
    pub coverage: &'static str,
    pub family: &'static str,
    pub boot: &'static str,
    pub init: &'static str,
    pub started_by: &'static str,
    pub mechanism: &'static str,
    pub command: &'static str,
    pub runs: &'static str,
    pub condition: &'static str,
    pub not_in_image: &'static str,
    pub built_in: &'static str,
    pub links: &'static str,
    pub uboot: &'static str,
    pub chart: &'static str,
    pub by_severity: &'static str,
    pub by_standard: &'static str,
    pub findings_cited: &'static str,
    pub count: &'static str,
    pub signature_block: &'static str,
    pub signature_note: &'static str,
    pub open_note: &'static str,
    pub waived: &'static str,
    pub new_since_baseline: &'static str,
    pub page: &'static str,
    pub clauses_failing: &'static str,
    pub firmware: &'static str,
    pub at: &'static str,
    pub in_: &'static str,
    pub filesystem: &'static str,
    pub none_found: &'static str,
    pub location: &'static str,
    pub coverage_gap: &'static str,
    pub custom: &'static str,
    pub declaration_lc: &'static str,
    pub no_declaration_lc: &'static str,
    pub image_lc: &'static str,
    pub profile_lc: &'static str,
    pub rules_lc: &'static str,
    pub open_need: &'static str,
    pub see_json: &'static str,
    pub refuted_by: &'static str,
    pub unpack_lc: &'static str,
    pub unpack_summary: &'static str,
    pub file_word: &'static str,
    pub in_word: &'static str,
    pub filesystem_word: &'static str,
    /// English adds an `s` to counted nouns; Chinese does not.
    pub plural_s: bool,
    /// The hardening line's words: `hardening:`, programs, executable
    /// stack, canary, unknown, full, partial, fortified.
    pub hardening: [&'static str; 8],
    pub applet_missing: &'static str,
    pub applet_unknown: &'static str,
    pub waived_by: &'static str,
    pub known_in_baseline: &'static str,
    pub gate: &'static str,
    pub policy: &'static str,
    pub today: &'static str,
    pub baseline: &'static str,
    pub waiver: &'static str,
    pub active: &'static str,
    pub expired: &'static str,
    pub expires: &'static str,
    pub preview_short: &'static str,
    pub image_sha256_lc: &'static str,
    pub standard_lc: &'static str,
    pub verdict_lc: &'static str,
    pub findings_lc: &'static str,
    pub severity_lc: &'static str,
    pub evidence_lc: &'static str,
    pub file_sha256_lc: &'static str,
    pub secret_lc: &'static str,
}

impl Strings {
    pub fn verdict(&self, v: Verdict) -> &'static str {
        let i = Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0);
        self.verdicts[i]
    }

    pub fn severity(&self, s: Severity) -> &'static str {
        let i = Severity::ALL.iter().position(|x| *x == s).unwrap_or(0);
        self.severities[i]
    }

    /// The outcome's status word (`pass`, `fail`, `analysis-gap`).
    pub fn status(&self, status: &str) -> &'static str {
        match status {
            "pass" => self.statuses[0],
            "fail" => self.statuses[1],
            _ => self.statuses[2],
        }
    }

    /// A cause keeps its stable English key (it is an identifier in the
    /// JSON); this is the same.
    /// `""` or `"s"` after a count of `n` of something.
    pub fn plural(&self, n: usize) -> &'static str {
        if self.plural_s && n != 1 { "s" } else { "" }
    }

    /// The word of a verdict given by its JSON name (a `counts` key).
    pub fn verdict_named(&self, name: &str) -> &'static str {
        Verdict::ALL
            .iter()
            .find(|v| v.as_str() == name)
            .map_or("?", |v| self.verdict(*v))
    }

    pub fn cause(&self, c: Cause) -> &'static str {
        c.as_str()
    }
}

pub static EN: Strings = Strings {
    verdicts: ["FAIL", "INCONCLUSIVE", "OPEN", "PASS", "NOT-APPLICABLE"],
    severities: ["info", "low", "medium", "high", "critical"],
    statuses: ["PASS", "FAIL", "ANALYSIS-GAP"],
    certificate: "Firmware conformance report",
    outcome: "Outcome",
    exit: "exit",
    identity: "Device and image",
    image: "Image",
    image_sha256: "Image SHA-256",
    size: "Size",
    bytes: "bytes",
    tool: "Tool",
    rules_digest: "Rules digest",
    profile: "Profile",
    declaration: "Declaration",
    no_declaration: "No declaration",
    device: "Device",
    manufacturer: "Manufacturer",
    model: "Model",
    hardware_version: "Hardware version",
    firmware_version: "Firmware version",
    vuln_snapshot: "Vulnerability data snapshot",
    none: "none",
    standards: "Standards",
    standard: "Standard",
    verdict: "Verdict",
    firmware_verdict: "Firmware verdict",
    clauses: "Clauses",
    clause: "Clause",
    title: "Title",
    units: "Test units",
    unit: "Unit",
    kind: "Kind",
    scope: "Scope",
    rules: "Rules",
    cause: "Cause",
    reasons: "Reasons",
    evidence: "Evidence",
    findings: "Findings",
    finding: "Finding",
    severity: "Severity",
    path: "Path",
    container: "Container chain",
    line: "Line",
    offset: "Offset",
    file_sha256: "File SHA-256",
    secret: "Secret fingerprint",
    preview: "preview: reported for review, fails no requirement",
    custom_rule: "custom rule",
    components: "Components",
    component: "Component",
    version: "Version",
    vulnerabilities: "Vulnerabilities",
    end_of_life: "End of life",
    unpack: "Unpack",
    complete: "complete",
    incomplete: "INCOMPLETE",
    format: "Format",
    status: "Status",
    description: "Description",
    gaps: "Unidentified regions",
    filesystems: "Filesystems",
    files: "files",
    root_filesystem: "root filesystem",
    coverage: "Check coverage",
    family: "Family",
    boot: "Boot",
    init: "init",
    started_by: "Started by",
    mechanism: "Mechanism",
    command: "Command",
    runs: "Runs",
    condition: "only if",
    not_in_image: "not in the image",
    built_in: "built in",
    links: "Script links",
    uboot: "U-Boot environment",
    chart: "Findings",
    by_severity: "by severity",
    by_standard: "cited by each standard's clauses",
    findings_cited: "findings",
    count: "count",
    signature_block: "Signatures",
    signature_note: "The JSON report of this scan can be signed (fwcert scan --sign) and checked (fwcert verify); this page is a view of it.",
    open_note: "OPEN clauses need a test on the device, a document or an audit: fwcert lists them, a lab decides them.",
    waived: "waived",
    new_since_baseline: "new since the baseline",
    page: "page",
    clauses_failing: "CLAUSES (FAIL and INCONCLUSIVE, with their units)",
    firmware: "firmware",
    at: "at",
    in_: "in",
    filesystem: "filesystem",
    none_found: "None.",
    location: "location",
    coverage_gap: "coverage gap",
    custom: "custom",
    declaration_lc: "declaration",
    no_declaration_lc: "no declaration",
    image_lc: "image",
    profile_lc: "profile",
    rules_lc: "rules",
    open_need: "need a device test, a document or an audit",
    see_json: "see the JSON report",
    refuted_by: "refuted by",
    unpack_lc: "unpack",
    unpack_summary: "Unpack",
    file_word: "file",
    in_word: "in",
    filesystem_word: "filesystem",
    plural_s: true,
    hardening: [
        "hardening:",
        "programs",
        "executable stack",
        "canary",
        "unknown",
        "full",
        "partial",
        "fortified",
    ],
    applet_missing: "NOT compiled in, does not run",
    applet_unknown: "unknown whether compiled in",
    waived_by: "waived by waiver",
    known_in_baseline: "in the baseline",
    gate: "Gate",
    policy: "policy",
    today: "today",
    baseline: "baseline",
    waiver: "waiver",
    active: "active",
    expired: "expired",
    expires: "expires",
    preview_short: "preview",
    image_sha256_lc: "image SHA-256",
    standard_lc: "standard",
    verdict_lc: "verdict",
    findings_lc: "findings",
    severity_lc: "severity",
    evidence_lc: "evidence",
    file_sha256_lc: "file sha256",
    secret_lc: "secret",
};

pub static ZH_CN: Strings = Strings {
    verdicts: ["不符合", "无法判定", "待测", "符合", "不适用"],
    severities: ["提示", "低危", "中危", "高危", "严重"],
    statuses: ["通过", "不通过", "分析缺口"],
    certificate: "固件符合性检测报告",
    outcome: "结论",
    exit: "退出码",
    identity: "设备与镜像",
    image: "镜像",
    image_sha256: "镜像 SHA-256",
    size: "大小",
    bytes: "字节",
    tool: "工具",
    rules_digest: "规则摘要",
    profile: "标准集",
    declaration: "厂商声明",
    no_declaration: "无厂商声明",
    device: "设备",
    manufacturer: "制造商",
    model: "型号",
    hardware_version: "硬件版本",
    firmware_version: "固件版本",
    vuln_snapshot: "漏洞数据快照",
    none: "无",
    standards: "标准",
    standard: "标准",
    verdict: "判定",
    firmware_verdict: "固件判定",
    clauses: "条款",
    clause: "条款",
    title: "标题",
    units: "测试单元",
    unit: "单元",
    kind: "类型",
    scope: "范围",
    rules: "规则",
    cause: "原因",
    reasons: "理由",
    evidence: "证据",
    findings: "检测发现",
    finding: "发现",
    severity: "严重程度",
    path: "路径",
    container: "容器链",
    line: "行",
    offset: "偏移",
    file_sha256: "文件 SHA-256",
    secret: "秘密指纹",
    preview: "预览规则：仅供复核，不判定任何条款不符合",
    custom_rule: "自定义规则",
    components: "组件",
    component: "组件",
    version: "版本",
    vulnerabilities: "漏洞",
    end_of_life: "生命周期终止",
    unpack: "解包",
    complete: "完整",
    incomplete: "不完整",
    format: "格式",
    status: "状态",
    description: "描述",
    gaps: "未识别区域",
    filesystems: "文件系统",
    files: "个文件",
    root_filesystem: "根文件系统",
    coverage: "检查覆盖",
    family: "检查类别",
    boot: "启动",
    init: "init",
    started_by: "启动位置",
    mechanism: "机制",
    command: "命令",
    runs: "运行",
    condition: "条件",
    not_in_image: "镜像中不存在",
    built_in: "内置",
    links: "脚本调用",
    uboot: "U-Boot 环境变量",
    chart: "检测发现",
    by_severity: "按严重程度",
    by_standard: "按标准（条款引用的发现）",
    findings_cited: "发现",
    count: "数量",
    signature_block: "签名",
    signature_note: "本次扫描的 JSON 报告可签名（fwcert scan --sign）并验证（fwcert verify）；本页为其视图。",
    open_note: "待测条款需要设备测试、文档或审核：fwcert 列出，由检测机构判定。",
    waived: "已豁免",
    new_since_baseline: "相对基线新增",
    page: "页",
    clauses_failing: "条款（不符合与无法判定，附测试单元）",
    firmware: "固件",
    at: "位置",
    in_: "容器",
    filesystem: "文件系统",
    none_found: "无。",
    location: "位置",
    coverage_gap: "覆盖缺口",
    custom: "自定义规则",
    declaration_lc: "厂商声明",
    no_declaration_lc: "无厂商声明",
    image_lc: "镜像",
    profile_lc: "标准集",
    rules_lc: "规则",
    open_need: "需设备测试、文档或审核",
    see_json: "详见 JSON 报告",
    refuted_by: "被以下规则的发现否定",
    unpack_lc: "解包",
    unpack_summary: "解包",
    file_word: "个文件",
    in_word: "分布于",
    filesystem_word: "个文件系统",
    plural_s: false,
    hardening: [
        "加固：",
        "个程序",
        "可执行栈",
        "栈保护",
        "未知",
        "完全",
        "部分",
        "强化函数",
    ],
    applet_missing: "未编译进 BusyBox，不会运行",
    applet_unknown: "无法确定是否编译进 BusyBox",
    waived_by: "已豁免，豁免条目",
    known_in_baseline: "基线中已有",
    gate: "门禁",
    policy: "策略",
    today: "当前日期",
    baseline: "基线",
    waiver: "豁免",
    active: "有效",
    expired: "已过期",
    expires: "到期",
    preview_short: "预览",
    image_sha256_lc: "镜像 SHA-256",
    standard_lc: "标准",
    verdict_lc: "判定",
    findings_lc: "检测发现",
    severity_lc: "严重程度",
    evidence_lc: "证据",
    file_sha256_lc: "文件 sha256",
    secret_lc: "秘密",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_and_pick_titles() {
        assert_eq!("zh-CN".parse::<Lang>(), Ok(Lang::ZhCn));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::ZhCn.pick("Title", "标题"), "标题");
        assert_eq!(Lang::ZhCn.pick("Title", " "), "Title");
        assert_eq!(Lang::En.pick("Title", "标题"), "Title");
    }

    #[test]
    fn verdict_words_follow_the_verdict_order() {
        assert_eq!(EN.verdict(Verdict::Pass), "PASS");
        assert_eq!(EN.verdict(Verdict::NotApplicable), "NOT-APPLICABLE");
        assert_eq!(ZH_CN.verdict(Verdict::Fail), "不符合");
        assert_eq!(ZH_CN.severity(Severity::Critical), "严重");
        assert_eq!(EN.status("analysis-gap"), "ANALYSIS-GAP");
    }
}
