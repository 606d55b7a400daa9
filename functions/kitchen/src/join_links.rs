//! Each room's join link: its configured override (`join_url` in
//! `KITCHEN_ROOMS`, or `ZOOM_JOIN_URL`), else `GET /meetings/{id}` once per
//! container. A failed fetch is not kept, so the next caller asks again.

use std::collections::HashMap;

use crate::cache::Cached;
use crate::credentials::Credentials;
use crate::rooms::{Room, Rooms};
use crate::zoom::{ZoomClient, ZoomError};

pub struct JoinLinks(HashMap<String, Cached<String>>);

impl JoinLinks {
    /// One cell per room, holding its override when it has one.
    pub fn new(rooms: &Rooms) -> Self {
        Self(
            rooms
                .iter()
                .map(|r| {
                    let cell = r
                        .join_url
                        .clone()
                        .map_or_else(Cached::default, Cached::with_value);
                    (r.name.clone(), cell)
                })
                .collect(),
        )
    }

    /// The room's join link: configured, cached, or asked of Zoom once
    /// (single-flight: concurrent callers share one request).
    pub async fn get(
        &self,
        zoom: &ZoomClient,
        creds: &Credentials,
        room: &Room,
    ) -> Result<String, ZoomError> {
        let fetch = || zoom.join_url(creds, &room.meeting_id);
        match self.0.get(&room.name) {
            Some(cell) => cell.get_or_refresh(|_| true, fetch).await,
            // Every configured room has its cell; `room` comes from the same list.
            None => fetch().await,
        }
    }
}
