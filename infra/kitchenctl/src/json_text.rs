//! Edits to the secret's JSON made on its text, so everything the edit does not
//! touch stays byte-for-byte as it was: other fields, other devices, key order,
//! whitespace, escapes and number formats. (Parsing into a map and serialising
//! it again would reorder keys and rewrite escapes.)
//!
//! The text is checked to be valid JSON first; the scanner then only has to
//! find where members start and end.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("it is not valid JSON")]
    NotJson,
    #[error("{0} is not a JSON object")]
    NotObject(String),
    #[error("{0} appears more than once")]
    Duplicate(String),
}

/// One `"key": value` member of an object, by byte offsets into the text.
#[derive(Debug, Clone)]
struct Member {
    key: String,
    /// Right after the `{` or `,` before this member (its leading whitespace).
    prefix_start: usize,
    key_start: usize,
    key_end: usize,
    value: Range<usize>,
}

#[derive(Debug)]
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// A JSON document that is an object at the top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    pub fn parse(text: &str) -> Result<Self, EditError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| EditError::NotJson)?;
        if !value.is_object() {
            return Err(EditError::NotObject("the secret".into()));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[cfg(test)]
    pub fn into_string(self) -> String {
        self.0
    }

    /// Sets `path[..n-1]`'s member `path[n-1]` to `value_json` (a JSON text),
    /// creating missing objects along the way. Only that value's bytes change
    /// (or, for a new member, bytes are inserted).
    pub fn set(&mut self, path: &[&str], value_json: &str) -> Result<(), EditError> {
        let (last, parents) = path.split_last().expect("a path names at least one member");
        let mut open = self.top_open();
        for (depth, name) in parents.iter().enumerate() {
            let obj = self.object_at(open, &path[..depth])?;
            match find(&obj, name, &path[..=depth])? {
                Some(m) => {
                    if self.0.as_bytes()[m.value.start] != b'{' {
                        return Err(EditError::NotObject(describe(&path[..=depth])));
                    }
                    open = m.value.start;
                }
                None => {
                    // Build the rest of the path as nested objects in one insert.
                    let mut nested = value_json.to_owned();
                    for n in path[depth + 1..].iter().rev() {
                        nested = format!("{{{}:{nested}}}", quote(n));
                    }
                    self.insert(&obj, name, &nested);
                    return Ok(());
                }
            }
        }
        let obj = self.object_at(open, parents)?;
        match find(&obj, last, path)? {
            Some(m) => self.0.replace_range(m.value.clone(), value_json),
            None => self.insert(&obj, last, value_json),
        }
        Ok(())
    }

    /// Removes the member at `path`; `false` when it is not there.
    pub fn remove(&mut self, path: &[&str]) -> Result<bool, EditError> {
        let (last, parents) = path.split_last().expect("a path names at least one member");
        let Some(open) = self.object_start(parents)? else {
            return Ok(false);
        };
        let obj = self.object_at(open, parents)?;
        let Some(i) = position(&obj, last, path)? else {
            return Ok(false);
        };
        let m = &obj.members;
        let range = if m.len() == 1 {
            obj.open + 1..obj.close
        } else if i + 1 < m.len() {
            m[i].prefix_start..m[i + 1].prefix_start
        } else {
            m[i - 1].value.end..m[i].value.end
        };
        self.0.replace_range(range, "");
        Ok(true)
    }

    /// Where the object at `path` starts, `None` when a member on the way is missing.
    fn object_start(&self, path: &[&str]) -> Result<Option<usize>, EditError> {
        let mut open = self.top_open();
        for depth in 0..path.len() {
            let obj = self.object_at(open, &path[..depth])?;
            match find(&obj, path[depth], &path[..=depth])? {
                Some(m) if self.0.as_bytes()[m.value.start] == b'{' => open = m.value.start,
                Some(_) => return Err(EditError::NotObject(describe(&path[..=depth]))),
                None => return Ok(None),
            }
        }
        Ok(Some(open))
    }

    fn top_open(&self) -> usize {
        skip_ws(self.0.as_bytes(), 0)
    }

    /// Inserts `"name": value` as the object's last member, in the spacing the
    /// object already uses.
    fn insert(&mut self, obj: &Object, name: &str, value_json: &str) {
        match obj.members.last() {
            None => self.0.replace_range(
                obj.open + 1..obj.close,
                &format!("{}:{value_json}", quote(name)),
            ),
            Some(last) => {
                let lead = self.0[last.prefix_start..last.key_start].to_owned();
                let colon = self.0[last.key_end..last.value.start].to_owned();
                let text = format!(",{lead}{}{colon}{value_json}", quote(name));
                self.0.insert_str(last.value.end, &text);
            }
        }
    }

    fn object_at(&self, open: usize, path: &[&str]) -> Result<Object, EditError> {
        let b = self.0.as_bytes();
        if b.get(open) != Some(&b'{') {
            return Err(EditError::NotObject(describe(path)));
        }
        let mut members = Vec::new();
        let mut i = open + 1;
        let close = loop {
            let key_start = skip_ws(b, i);
            if b[key_start] == b'}' {
                break key_start;
            }
            let key_end = skip_string(b, key_start);
            let key: String = serde_json::from_str(&self.0[key_start..key_end])
                .map_err(|_| EditError::NotJson)?;
            let colon = skip_ws(b, key_end);
            let value_start = skip_ws(b, colon + 1);
            let value_end = skip_value(b, value_start);
            members.push(Member {
                key,
                prefix_start: i,
                key_start,
                key_end,
                value: value_start..value_end,
            });
            let next = skip_ws(b, value_end);
            if b[next] == b',' {
                i = next + 1;
            } else {
                break next;
            }
        };
        Ok(Object {
            open,
            close,
            members,
        })
    }
}

/// The JSON text of a string.
pub fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn describe(path: &[&str]) -> String {
    if path.is_empty() {
        "the secret".to_owned()
    } else {
        format!("field \"{}\"", path.join("."))
    }
}

fn position(obj: &Object, name: &str, path: &[&str]) -> Result<Option<usize>, EditError> {
    let mut hits = obj
        .members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.key == name);
    let first = hits.next().map(|(i, _)| i);
    if hits.next().is_some() {
        return Err(EditError::Duplicate(describe(path)));
    }
    Ok(first)
}

fn find<'a>(obj: &'a Object, name: &str, path: &[&str]) -> Result<Option<&'a Member>, EditError> {
    Ok(position(obj, name, path)?.map(|i| &obj.members[i]))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// `i` is at an opening quote; returns the index after the closing one.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn skip_value(b: &[u8], mut i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        i = skip_string(b, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i
        }
        _ => {
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                i += 1;
            }
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, f: impl FnOnce(&mut JsonText)) -> String {
        let mut doc = JsonText::parse(text).unwrap();
        f(&mut doc);
        let out = doc.into_string();
        serde_json::from_str::<serde_json::Value>(&out).expect("still valid JSON");
        out
    }

    #[test]
    fn adds_to_an_existing_map_in_its_own_spacing() {
        let text = "{\n  \"b\": 1.50,\n  \"devices\": {\n    \"x\": {\"key\": \"k\", \"extra\": [1, {\"a\": \"}\"}]}\n  },\n  \"z\": \"\\u00e9\"\n}\n";
        let out = edit(text, |d| {
            d.set(&["devices", "y"], r#"{"key":"n"}"#).unwrap()
        });
        assert_eq!(
            out,
            "{\n  \"b\": 1.50,\n  \"devices\": {\n    \"x\": {\"key\": \"k\", \"extra\": [1, {\"a\": \"}\"}]},\n    \"y\": {\"key\":\"n\"}\n  },\n  \"z\": \"\\u00e9\"\n}\n"
        );
    }

    #[test]
    fn creates_missing_maps_and_fills_empty_ones() {
        let out = edit(r#"{"a":"1"}"#, |d| {
            d.set(&["devices", "y", "key"], r#""n""#).unwrap()
        });
        assert_eq!(out, r#"{"a":"1","devices":{"y":{"key":"n"}}}"#);
        let out = edit(r#"{"devices": { }, "a":1}"#, |d| {
            d.set(&["devices", "y"], "2").unwrap()
        });
        assert_eq!(out, r#"{"devices": {"y":2}, "a":1}"#);
    }

    #[test]
    fn replaces_only_the_value() {
        let text = r#"{"devices":{"x":{"owner":"o@e.com" , "key" :"old","room":"r"}}}"#;
        let out = edit(text, |d| {
            d.set(&["devices", "x", "key"], r#""new""#).unwrap()
        });
        assert_eq!(
            out,
            r#"{"devices":{"x":{"owner":"o@e.com" , "key" :"new","room":"r"}}}"#
        );
    }

    #[test]
    fn removes_first_middle_last_and_only() {
        let text = r#"{"d": {"a":1, "b":2, "c":3}}"#;
        assert_eq!(
            edit(text, |d| assert!(d.remove(&["d", "a"]).unwrap())),
            r#"{"d": { "b":2, "c":3}}"#
        );
        assert_eq!(
            edit(text, |d| assert!(d.remove(&["d", "b"]).unwrap())),
            r#"{"d": {"a":1, "c":3}}"#
        );
        assert_eq!(
            edit(text, |d| assert!(d.remove(&["d", "c"]).unwrap())),
            r#"{"d": {"a":1, "b":2}}"#
        );
        assert_eq!(
            edit(r#"{"d": { "a" : 1 }}"#, |d| assert!(
                d.remove(&["d", "a"]).unwrap()
            )),
            r#"{"d": {}}"#
        );
        assert_eq!(
            edit(text, |d| assert!(!d.remove(&["d", "zz"]).unwrap())),
            text
        );
        assert_eq!(
            edit(text, |d| assert!(!d.remove(&["nope", "a"]).unwrap())),
            text
        );
    }

    #[test]
    fn escaped_names_and_duplicates() {
        let out = edit(r#"{"d":{"a\"b":1}}"#, |d| {
            d.set(&["d", "a\"b"], "2").unwrap()
        });
        assert_eq!(out, r#"{"d":{"a\"b":2}}"#);
        let mut doc = JsonText::parse(r#"{"d":{"a":1,"a":2}}"#).unwrap();
        assert_eq!(
            doc.set(&["d", "a"], "3"),
            Err(EditError::Duplicate("field \"d.a\"".into()))
        );
        let mut doc = JsonText::parse(r#"{"d":[1]}"#).unwrap();
        assert!(matches!(
            doc.set(&["d", "a"], "3"),
            Err(EditError::NotObject(_))
        ));
        assert_eq!(
            JsonText::parse("[1]"),
            Err(EditError::NotObject("the secret".into()))
        );
        assert_eq!(JsonText::parse("{"), Err(EditError::NotJson));
    }
}
