-- Emails compare case-insensitively in every script, not only in ASCII (the database's C collation lowers
-- A-Z alone, so 'Émile@…' and 'émile@…' were two accounts): the key is the NFC form lower-cased by ICU.
-- Every lookup by email goes through email_key, so it and the unique index agree.
create function email_key(email text) returns text
    language sql immutable strict parallel safe
    return lower(normalize(email, nfc) collate "und-x-icu");

drop index users_email_key;
create unique index users_email_key on users (email_key(email));
