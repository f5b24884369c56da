use berth_template::helm::{self, Chart, File, ReleaseOptions, RenderOptions};
fn main() {
    let input = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&input).unwrap();
    let mut out = Vec::new();
    for c in cases {
        let tpl = c["template"].as_str().unwrap().to_string();
        let mut chart = Chart {
            values: serde_json::json!({}),
            ..Default::default()
        };
        chart.metadata = berth_template::yaml::parse_values(
            "apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: \"1.0\"\n",
        )
        .unwrap();
        chart.templates.push(File {
            name: "templates/t.yaml".into(),
            data: tpl.into_bytes(),
        });
        fn floats(v: &serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
                serde_json::Value::Array(a) => {
                    serde_json::Value::Array(a.iter().map(floats).collect())
                }
                serde_json::Value::Object(m) => serde_json::Value::Object(
                    m.iter().map(|(k, v)| (k.clone(), floats(v))).collect(),
                ),
                o => o.clone(),
            }
        }
        let user = floats(&c["values"]);
        let res = match helm::coalesce_values(&chart, &user) {
            Err(e) => serde_json::json!({"error": e.to_string()}),
            Ok(vals) => {
                let opts = RenderOptions::new(ReleaseOptions {
                    name: "r".into(),
                    namespace: "n".into(),
                    revision: 1,
                    is_install: true,
                    is_upgrade: false,
                });
                match helm::render(&chart, &vals, &opts) {
                    Ok(m) => {
                        serde_json::json!({"output": m.get("c/templates/t.yaml").cloned().unwrap_or_default()})
                    }
                    Err(e) => serde_json::json!({"error": e.to_string()}),
                }
            }
        };
        out.push(res);
    }
    println!("{}", serde_json::to_string(&out).unwrap());
}
