//! Domain values stored as text: typed ids, currencies and status enums reach diesel as
//! themselves, so a row holds an `OrderId` or an `OrderStatus`, never a `String` that each
//! reader converts and could get wrong.
//!
//! A value is written through `AsRef<str>` and read back through `FromStr`. Reading is
//! strict: text that does not parse (an unknown status, an id of the wrong kind) is a
//! deserialization error naming the type, never a default.

/// Implements `ToSql<Text>` and `FromSql<Text>` on every backend for a type that derives
/// `diesel::AsExpression` and `diesel::FromSqlRow` with `#[diesel(sql_type = Text)]`,
/// implements `AsRef<str>`, and parses with `FromStr`.
#[macro_export]
macro_rules! sql_text {
    ($name:ty) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    <$name as AsRef<str>>::as_ref(self),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                text.parse::<$name>().map_err(|e| {
                    format!("stored {} `{}`: {e}", stringify!($name), text.chars().take(80).collect::<String>()).into()
                })
            }
        }
    };
}

/// Declares a status set stored as text: a plain enum whose variants travel as their
/// snake_case names in JSON and in the database, parse back strictly (an unknown name is
/// an error), and can be listed (`strum::IntoEnumIterator`). Attributes before `enum`
/// (docs, more derives) are kept.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
            strum::EnumString, strum::AsRefStr, strum::IntoStaticStr, strum::Display, strum::EnumIter,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant),*
        }

        $crate::sql_text!($name);
    };
}

#[cfg(test)]
mod tests {
    use crate::db::AnyConnection;
    use crate::ids::{OrderId, StoreId};
    use crate::money::Currency;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: OrderId,
        #[diesel(sql_type = Text)]
        currency: Currency,
    }

    fn read(conn: &mut AnyConnection, id: &str, currency: &str) -> QueryResult<Row> {
        diesel::sql_query("SELECT ? AS id, ? AS currency")
            .bind::<Text, _>(id)
            .bind::<Text, _>(currency)
            .get_result(conn)
    }

    #[test]
    fn typed_values_travel_as_text_and_unknown_text_is_an_error() {
        let mut conn = AnyConnection::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        let id = OrderId::generate();
        let row = read(&mut conn, id.as_str(), "EUR").unwrap();
        assert_eq!((row.id.clone(), row.currency), (id.clone(), Currency::EUR));

        // A typed value binds as itself.
        #[derive(QueryableByName)]
        struct Back {
            #[diesel(sql_type = Text)]
            id: String,
        }
        let back: Back = diesel::sql_query("SELECT ? AS id").bind::<Text, _>(&id).get_result(&mut conn).unwrap();
        assert_eq!(back.id, id.as_str());

        let wrong_kind = read(&mut conn, StoreId::generate().as_str(), "EUR").err().unwrap();
        assert!(wrong_kind.to_string().contains("OrderId"), "{wrong_kind}");
        let unknown_currency = read(&mut conn, id.as_str(), "XYZ").err().unwrap();
        assert!(unknown_currency.to_string().contains("Currency"), "{unknown_currency}");
    }

    crate::text_enum! {
        /// A status set for the test.
        enum Light {
            Green,
            /// Two words.
            AmberFlashing,
        }
    }

    #[test]
    fn a_text_enum_reads_and_writes_its_snake_case_names_only() {
        use strum::IntoEnumIterator;
        let mut conn = AnyConnection::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap());
        #[derive(QueryableByName)]
        struct Back {
            #[diesel(sql_type = Text)]
            light: Light,
        }
        for light in Light::iter() {
            let back: Back =
                diesel::sql_query("SELECT ? AS light").bind::<Text, _>(light).get_result(&mut conn).unwrap();
            assert_eq!(back.light, light);
        }
        assert_eq!(Light::AmberFlashing.as_ref(), "amber_flashing");
        assert_eq!(serde_json::to_value(Light::AmberFlashing).unwrap(), "amber_flashing");
        let unknown = diesel::sql_query("SELECT 'red' AS light").get_result::<Back>(&mut conn).err().unwrap();
        assert!(unknown.to_string().contains("Light"), "{unknown}");
    }
}
